"""How fast is nnlib? Epoch times against PyTorch on the CPU, measured in one run.

For each network, nnlib and PyTorch train the *same* model: the same initial weights
(copied from nnlib into torch), the same optimizer and hyper-parameters, the same batch
size, the same shuffled order of the same float32 data. Each library trains for
``--epochs`` epochs, alternating epoch by epoch so that both see the same machine load;
the report is the median epoch time of each and their ratio nnlib / PyTorch.

Also measured: the MLPs' achieved GFLOP/s (6 * N * sum of D*M per epoch: 2 for the
forward product, 4 for the two backward ones) against a large float32 GEMM's GFLOP/s on
the same machine, each LeNet layer's median forward and backward time per batch, and one
optimizer step over the 784-512-256-10 MLP's parameters, whole arrays against blocks, and
one element-wise pass with a Python float against a NumPy float64 scalar.

Usage:
    python benchmarks/speed.py [--epochs 5] [--batch-size 128] [--out benchmarks/results/speed.json]

Needs torch (requirements-bench.txt) and full Fashion-MNIST (Debian's
dataset-fashion-mnist) or full MNIST.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from nnlib import memory, optim
from nnlib.conv import Conv2D, ConvReLUPool, MaxPool2D
from nnlib.data import load_fashion_mnist, load_mnist
from nnlib.layers import Dense, Flatten, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD, Adam
from nnlib.train import _step_buffers

RESULTS = Path(__file__).resolve().parent / "results"


def machine():
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def gemm_peak(n=2048, repeat=5):
    """GFLOP/s of NumPy's float32 matrix product on large square matrices."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# --- the networks, built once in nnlib and mirrored in torch ------------------------------


def mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for d, m in zip(sizes[:-1], sizes[1:]):
        layers += [Dense(d, m, rng=rng), ReLU()]
    return Sequential(layers[:-1])


def lenet(seed=0, fused=False):
    """LeNet-5: two conv-ReLU-pool blocks, as three layers each or (fused) ConvReLUPool."""
    rng = np.random.default_rng(seed)
    if fused:
        blocks = [ConvReLUPool(1, 6, 5, padding=2, pool=2, rng=rng),
                  ConvReLUPool(6, 16, 5, pool=2, rng=rng)]  # fmt: skip
    else:
        blocks = [Conv2D(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2D(2),
                  Conv2D(6, 16, 5, rng=rng), ReLU(), MaxPool2D(2)]  # fmt: skip
    return Sequential([
        *blocks,
        Flatten(),
        Dense(16 * 5 * 5, 120, rng=rng), ReLU(),
        Dense(120, 84, rng=rng), ReLU(),
        Dense(84, 10, rng=rng),
    ])  # fmt: skip


def to_torch(model):
    """The same network in torch, with nnlib's weights copied in."""
    import torch.nn as nn

    layers = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "ConvReLUPool":  # the three layers it computes
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                             stride=layer.stride, padding=layer.padding)  # fmt: skip
            conv.weight.data = torch.from_numpy(layer.params["W"].copy())
            conv.bias.data = torch.from_numpy(layer.params["b"].copy())
            layers += [conv, nn.ReLU(), nn.MaxPool2d(layer.pooling.kernel_size)]
            continue
        if name == "Dense":
            t = nn.Linear(*layer.params["W"].shape)
            t.weight.data = torch.from_numpy(layer.params["W"].T.copy())
            t.bias.data = torch.from_numpy(layer.params["b"].copy())
        elif name == "Conv2D":
            F, C, HH, WW = layer.params["W"].shape
            t = nn.Conv2d(C, F, (HH, WW), stride=layer.stride, padding=layer.padding)
            t.weight.data = torch.from_numpy(layer.params["W"].copy())
            t.bias.data = torch.from_numpy(layer.params["b"].copy())
        elif name == "MaxPool2D":
            t = nn.MaxPool2d(layer.kernel_size, layer.stride)
        elif name == "ReLU":
            t = nn.ReLU()
        elif name == "Flatten":
            t = nn.Flatten()
        else:
            raise ValueError(f"no torch twin for {name}")
        layers.append(t)
    return nn.Sequential(*layers)


OPTIMIZERS = {
    "SGD+momentum": (lambda: SGD(lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "Adam": (lambda: Adam(lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3)),
}  # fmt: skip


# --- one epoch in each library -------------------------------------------------------------


def epoch_nnlib(model, loss, opt, X, y, order, batch_size, Xs, ys):
    """What nnlib.train.fit does per epoch: each batch gathered into the same small
    buffers Xs, ys, one vectorised step over the flat buffers, and no gradient for the
    data (torch skips it too: the input does not require grad)."""
    params, grads = _step_buffers(model)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        xb, yb = Xs[: len(idx)], ys[: len(idx)]
        X.take(idx, axis=0, out=xb, mode="clip")
        y.take(idx, axis=0, out=yb, mode="clip")
        out = model.forward(xb, training=True)
        loss.forward(out, yb)
        model.backward(loss.backward(), input_grad=False)
        opt.step(params, grads)


def epoch_torch(model, opt, X, y, order, batch_size):
    idx = torch.from_numpy(order)
    Xs, ys = X[idx], y[idx]
    for i in range(0, len(order), batch_size):
        opt.zero_grad(set_to_none=True)
        out = model(Xs[i : i + batch_size])
        torch.nn.functional.cross_entropy(out, ys[i : i + batch_size]).backward()
        opt.step()


def layer_times(model, X, y, batch_size, batches=60, skip=10):
    """Median milliseconds of each layer's forward and backward pass over training steps.

    The steps are fit's (forward, loss, backward without dL/dX, SGD step); the first
    ``skip`` are warm-up and not counted.
    """
    loss, opt = SoftmaxCrossEntropy(), SGD(lr=0.05, momentum=0.9)
    params, grads = _step_buffers(model)
    n = len(model.layers)
    fwd, bwd = [[] for _ in range(n)], [[] for _ in range(n)]
    for b in range(batches):
        out = X[b * batch_size : (b + 1) * batch_size]
        times_f, times_b = [], []
        for layer in model.layers:
            t = time.perf_counter()
            out = layer.forward(out, training=True)
            times_f.append(time.perf_counter() - t)
        loss.forward(out, y[b * batch_size : (b + 1) * batch_size])
        dout = loss.backward()
        for i in reversed(range(n)):
            t = time.perf_counter()
            layer = model.layers[i]
            dout = layer.backward(dout, input_grad=False) if i == 0 else layer.backward(dout)
            times_b.append(time.perf_counter() - t)
        opt.step(params, grads)
        if b >= skip:
            for i in range(n):
                fwd[i].append(times_f[i])
                bwd[i].append(times_b[n - 1 - i])
    return [
        {"layer": repr(layer), "forward_ms": 1e3 * statistics.median(f),
         "backward_ms": 1e3 * statistics.median(g)}
        for layer, f, g in zip(model.layers, fwd, bwd)
    ]  # fmt: skip


def optimizer_steps(sizes=(784, 512, 256, 10), steps=60, skip=10):
    """Median milliseconds of one optimizer step over an MLP's flat buffers, alone.

    Each optimizer runs twice on the same gradients: over the whole arrays at once
    (``BLOCK`` as large as the buffer) and over cache-sized blocks (nnlib's ``BLOCK``).
    The parameters end the same to the bit; only the time differs.
    """
    size = mlp(sizes).flat_params.size
    rng = np.random.default_rng(0)
    gradients = [rng.standard_normal(size, dtype=np.float32) * 1e-2 for _ in range(4)]
    rows = []
    for opt_name, (make, _) in OPTIMIZERS.items():
        row, finals = {"optimizer": opt_name, "parameters": size, "block": optim.BLOCK}, []
        for label, block in [("whole_ms", size), ("blocks_ms", optim.BLOCK)]:
            params, opt, times = {"all": mlp(sizes).flat_params}, make(), []
            saved, optim.BLOCK = optim.BLOCK, block
            try:
                for i in range(steps):
                    grads = {"all": gradients[i % 4]}
                    times.append(_timed(lambda o=opt, p=params, g=grads: o.step(p, g)))
            finally:
                optim.BLOCK = saved
            row[label] = 1e3 * statistics.median(times[skip:])
            finals.append(params["all"])
        if not np.array_equal(*finals):
            raise AssertionError(f"{opt_name}: blocks changed the parameters")
        rows.append(row)
        print(
            f"{opt_name:<13} step over {size:,} parameters: whole arrays {row['whole_ms']:.2f}"
            f" ms, blocks of {optim.BLOCK:,} {row['blocks_ms']:.2f} ms"
        )
    return rows


def scalar_pass(repeat=300, skip=30):
    """Median microseconds of ``out = a * s`` over one optimizer block of float32 numbers,
    for s a Python float and for s = np.float64 of the same value.

    NumPy 2 takes a NumPy scalar's dtype at its word: float32 times np.float64 is computed
    in float64, each number converted there and back. nnlib's optimizers therefore turn
    every hyperparameter into a Python float (``float(self.lr)``), which keeps float32.
    """
    a = np.random.default_rng(0).standard_normal(optim.BLOCK, dtype=np.float32)
    out = np.empty_like(a)
    row = {"numbers": optim.BLOCK}
    for label, s in [("python_float_us", 0.9), ("numpy_float64_us", np.float64(0.9))]:
        times = [_timed(lambda s=s: np.multiply(a, s, out=out)) for _ in range(repeat)]
        row[label] = 1e6 * statistics.median(times[skip:])
    print(
        f"float32 block of {optim.BLOCK:,} times a Python float {row['python_float_us']:.1f} us,"
        f" times np.float64 {row['numpy_float64_us']:.1f} us"
    )
    return row


def page_placement(X, y, batch_size, instances=4, steps=150, skip=30):
    """Median milliseconds of a training step of the 784-512-256-10 MLP (SGD+momentum),
    for several copies of the network whose big buffers are on ordinary 4 kB pages and
    several on huge pages (``nnlib.memory``); the copies take turns, 10 steps at a time.

    Where an ordinary page lands in physical memory is luck, so the ordinary copies spread;
    a huge page is 2 MB of contiguous memory, so the huge-page copies should not.
    """
    copies = []
    for huge in [False, True] * instances:
        saved = memory.HUGE_FROM
        memory.HUGE_FROM = memory.HUGE_FROM if huge else float("inf")
        try:  # the optimizer makes its state on the first step
            model, opt = mlp((784, 512, 256, 10)), SGD(lr=0.05, momentum=0.9)
            params, grads = _step_buffers(model)
            opt.step(params, grads)
        finally:
            memory.HUGE_FROM = saved
        copies.append({"huge": huge, "model": model, "opt": opt, "times": []})
    loss, rng = SoftmaxCrossEntropy(), np.random.default_rng(0)
    xb, yb = np.empty_like(X[:batch_size]), np.empty_like(y[:batch_size])
    for _ in range(0, steps, 10):
        for c in copies:
            params, grads = _step_buffers(c["model"])
            for _step in range(10):
                t = time.perf_counter()
                idx = rng.integers(0, len(X), batch_size)
                X.take(idx, axis=0, out=xb, mode="clip")
                y.take(idx, axis=0, out=yb, mode="clip")
                loss.forward(c["model"].forward(xb, training=True), yb)
                c["model"].backward(loss.backward(), input_grad=False)
                c["opt"].step(params, grads)
                c["times"].append(time.perf_counter() - t)
    row = {"instances": instances, "steps": steps}
    for label, huge in [("ordinary_ms", False), ("huge_ms", True)]:
        times = [c["times"][skip:] for c in copies if c["huge"] == huge]
        row[label] = [1e3 * statistics.median(t) for t in times]
    row["huge_bytes"] = memory.on_huge_pages(copies[1]["model"].flat_params)
    print(
        "training step, ordinary pages: "
        + ", ".join(f"{t:.2f}" for t in row["ordinary_ms"])
        + " ms; huge pages: "
        + ", ".join(f"{t:.2f}" for t in row["huge_ms"])
        + " ms"
    )
    return row


def cold_python(repeat=300, skip=30):
    """Median microseconds of a row maximum and a mean over a batch's logits, right after a
    large matrix product (as in a training step): through ndarray methods and ``np.mean``,
    which go through a layer of Python inside NumPy, and through the ufuncs they end in."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((128, 784), dtype=np.float32)
    w = rng.standard_normal((784, 512), dtype=np.float32)
    logits = rng.standard_normal((128, 10), dtype=np.float32)
    ways = {
        "methods_us": lambda: (logits.max(axis=1, keepdims=True), np.mean(logits[:, 0])),
        "ufuncs_us": lambda: (np.maximum.reduce(logits, axis=1, keepdims=True),
                              np.add.reduce(logits[:, 0]) / 128),
    }  # fmt: skip
    times = {label: [] for label in ways}
    for _ in range(repeat):
        for label, f in ways.items():
            a @ w  # what a training step does before its loss
            times[label].append(_timed(f))
    row = {label: 1e6 * statistics.median(t[skip:]) for label, t in times.items()}
    print(f"row max and mean after a product: methods {row['methods_us']:.1f} us, "
          f"ufuncs {row['ufuncs_us']:.1f} us")  # fmt: skip
    return row


def compare(name, build, opt_name, X, y, epochs, batch_size):
    """Median epoch seconds of nnlib and torch on the same network, data and order."""
    model = build()
    twin = to_torch(model)
    make_ours, make_theirs = OPTIMIZERS[opt_name]
    opt, topt = make_ours(), make_theirs(twin.parameters())
    loss = SoftmaxCrossEntropy()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    Xs, ys = np.empty_like(X[:batch_size]), np.empty_like(y[:batch_size])  # fit's batch buffers
    for _ in range(epochs):
        order = rng.permutation(len(X))
        ours.append(
            _timed(lambda o=order: epoch_nnlib(model, loss, opt, X, y, o, batch_size, Xs, ys))
        )
        theirs.append(_timed(lambda o=order: epoch_torch(twin, topt, Xt, yt, o, batch_size)))
    acc_ours = float(np.mean(model.predict(X[:10000]).argmax(1) == y[:10000]))
    with torch.no_grad():
        acc_theirs = float((twin(Xt[:10000]).argmax(1) == yt[:10000]).float().mean())
    row = {
        "network": name,
        "optimizer": opt_name,
        "nnlib_s": statistics.median(ours),
        "torch_s": statistics.median(theirs),
        "nnlib_epochs_s": ours,
        "torch_epochs_s": theirs,
        "train_acc_nnlib": acc_ours,
        "train_acc_torch": acc_theirs,
    }
    row["ratio"] = row["nnlib_s"] / row["torch_s"]
    print(
        f"{name:<26} {opt_name:<13} nnlib {row['nnlib_s']:6.2f} s  torch {row['torch_s']:6.2f} s"
        f"  ratio {row['ratio']:.2f}   (train acc {acc_ours:.3f} / {acc_theirs:.3f})",
        flush=True,
    )
    return row, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json")
    args = parser.parse_args()

    try:
        data = load_mnist("full")
    except OSError:
        data = load_fashion_mnist("full")
    X = data.X_train.reshape(len(data.X_train), -1)
    y = data.y_train
    report = {"machine": machine(), "dataset": data.name, "n_train": len(y),
              "epochs": args.epochs, "batch_size": args.batch_size, "results": []}  # fmt: skip
    report["gemm_gflops"] = gemm_peak()
    print(f"{data.name}, {len(y)} images; float32 GEMM peak {report['gemm_gflops']:.1f} GFLOP/s")
    report["optimizer_steps"] = optimizer_steps()
    report["scalar_pass"] = scalar_pass()
    report["cold_python"] = cold_python()

    report["page_placement"] = page_placement(X, y, args.batch_size)

    for sizes in [(784, 256, 10), (784, 512, 256, 10)]:
        name = "MLP " + "-".join(map(str, sizes))
        for opt_name in OPTIMIZERS:
            row, model = compare(name, lambda s=sizes: mlp(s), opt_name, X, y, args.epochs,
                                 args.batch_size)  # fmt: skip
            flops = 6 * len(y) * sum(d * m for d, m in zip(sizes[:-1], sizes[1:]))
            row["gflops_nnlib"] = flops / row["nnlib_s"] / 1e9
            report["results"].append(row)
    if not args.skip_cnn:
        Xi = data.X_train[:, None]  # NCHW
        for name, build in [("LeNet-5 CNN", lenet),
                            ("LeNet-5 CNN, ConvReLUPool", lambda: lenet(fused=True))]:  # fmt: skip
            row, _ = compare(name, build, "SGD+momentum", Xi, y, args.epochs, args.batch_size)
            report["results"].append(row)
        # Where a training step's time goes, layer by layer, for both LeNet variants.
        report["layer_times"] = {
            "LeNet-5 CNN": layer_times(lenet(), Xi, y, args.batch_size),
            "LeNet-5 CNN, ConvReLUPool": layer_times(lenet(fused=True), Xi, y, args.batch_size),
        }

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
