"""How fast is nnlib? Epoch times against PyTorch on the CPU, measured in one run.

For each network, three trainers train the *same* model: the same initial weights, the same
optimizer and hyper-parameters, the same batch size and the same shuffled order of the
same float32 data:

- nnlib with its engine (the default): ``nnlib.train.fit`` as a reader calls it;
- nnlib's readable code alone: the same ``fit`` after ``nnlib.set_engine(False)``, with the
  network built while the engine was off;
- PyTorch, in a plain training loop.

They alternate epoch by epoch, so all three see the same machine load; the report is each
one's median epoch time and the ratios to PyTorch's. Also measured: the MLPs' achieved
GFLOP/s (6 * N * sum of D*M per epoch) against a large float32 GEMM's GFLOP/s, one
optimizer step over the 784-512-256-10 MLP's parameters, readable rule against engine, and
max pooling's backward pass over LeNet's first pooling layer, readable against engine.

Usage:
    python benchmarks/speed.py [--epochs 5] [--batch-size 128] [--out benchmarks/results/speed.json]

Needs torch (requirements-bench.txt) and full Fashion-MNIST (Debian's
dataset-fashion-mnist).
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

import nnlib
from nnlib.conv import Conv2D, MaxPool2D
from nnlib.data import load_fashion_mnist
from nnlib.layers import Dense, Flatten, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import SGD, Adam
from nnlib.train import fit

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


# --- the networks, built in nnlib and mirrored in torch ----------------------------------


def mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for d, m in zip(sizes[:-1], sizes[1:]):
        layers += [Dense(d, m, rng=rng), ReLU()]
    return Sequential(layers[:-1])


def lenet(seed=0):
    """LeNet-5 as Chapter 6 writes it: Conv2D, ReLU, MaxPool2D twice, then three Dense."""
    rng = np.random.default_rng(seed)
    return Sequential([
        Conv2D(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(6, 16, 5, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(),
        Dense(16 * 5 * 5, 120, rng=rng), ReLU(),
        Dense(120, 84, rng=rng), ReLU(),
        Dense(84, 10, rng=rng),
    ])  # fmt: skip


def built(make, engine):
    """``make()`` with the engine on or off while the network is built."""
    previous = nnlib.set_engine(engine)
    try:
        return make()
    finally:
        nnlib.set_engine(previous)


def to_torch(model):
    """The same network in torch, with nnlib's weights copied in."""
    import torch.nn as nn

    layers = []
    for layer in model.layers:
        name = type(layer).__name__
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


# --- one epoch in each trainer ------------------------------------------------------------


def epoch_nnlib(model, opt, X, y, seed, batch_size, engine):
    """One epoch of ``fit``, whose shuffle with ``rng=seed`` is ``permutation(seed)``."""
    previous = nnlib.set_engine(engine)
    try:
        fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=batch_size,
            rng=seed, progress=False)  # fmt: skip
    finally:
        nnlib.set_engine(previous)


def epoch_torch(model, opt, X, y, order, batch_size):
    idx = torch.from_numpy(order)
    Xs, ys = X[idx], y[idx]
    for i in range(0, len(order), batch_size):
        opt.zero_grad(set_to_none=True)
        out = model(Xs[i : i + batch_size])
        torch.nn.functional.cross_entropy(out, ys[i : i + batch_size]).backward()
        opt.step()


def optimizer_steps(sizes=(784, 512, 256, 10), steps=60, skip=10):
    """Median milliseconds of one optimizer step over an MLP's parameters, alone: the
    readable rule key by key (engine off) against the engine's blocked pass over the flat
    buffer. The parameters end equal to rounding (bit for bit before the first denormal
    flush, see tests/test_engine.py)."""
    rng = np.random.default_rng(0)
    rows = []
    for opt_name, (make, _) in OPTIMIZERS.items():
        row, finals = {"optimizer": opt_name}, []
        for label, engine in [("readable_ms", False), ("engine_ms", True)]:
            model, opt, times = built(lambda: mlp(sizes), engine), make(), []
            grads = model.grads
            previous = nnlib.set_engine(engine)
            try:
                for _ in range(steps):
                    for g in grads.values():
                        g[...] = rng.standard_normal(g.shape, dtype=np.float32) * 1e-2
                    params, grads = model.params, model.grads
                    times.append(_timed(lambda o=opt, p=params, g=grads: o.step(p, g)))
            finally:
                nnlib.set_engine(previous)
            row[label] = 1e3 * statistics.median(times[skip:])
            row["parameters"] = int(sum(p.size for p in model.params.values()))
            finals.append(model)
        rows.append(row)
        print(f"{opt_name:<13} step over {row['parameters']:,} parameters: readable "
              f"{row['readable_ms']:.2f} ms, engine {row['engine_ms']:.2f} ms")  # fmt: skip
    return rows


def pool_backward(X, steps=40, skip=5, batch_size=128):
    """Median milliseconds of ``MaxPool2D(2)``'s backward pass alone, readable (engine off)
    against engine, on what LeNet's first pooling layer sees: the first convolution's
    output for a batch of images, stored as that convolution returns it. Both give the
    same dx, bit for bit (tests/test_engine.py)."""
    conv = built(lambda: Sequential([Conv2D(1, 6, 5, padding=2, rng=0)]), True)
    z = conv.forward(X[:batch_size], training=True)  # (128, 6, 28, 28), batch-last
    row = {"shape": list(z.shape)}
    dx = {}
    for label, engine in [("readable_ms", False), ("engine_ms", True)]:
        pool = built(lambda: Sequential([MaxPool2D(2)]), engine)
        previous = nnlib.set_engine(engine)
        try:
            out = pool.forward(z, training=True)
            dout = np.empty_like(out)  # stored as the next layer hands it back: like out
            dout[...] = np.random.default_rng(0).standard_normal(out.shape, dtype=np.float32)
            times = [_timed(lambda p=pool, d=dout: p.backward(d)) for _ in range(steps)]
            dx[label] = pool.backward(dout)
        finally:
            nnlib.set_engine(previous)
        row[label] = 1e3 * statistics.median(times[skip:])
    row["same_dx"] = bool(np.array_equal(dx["readable_ms"], dx["engine_ms"]))
    print(f"max pooling backward over {z.shape}: readable {row['readable_ms']:.2f} ms, "
          f"engine {row['engine_ms']:.2f} ms, same dx: {row['same_dx']}")  # fmt: skip
    return row


def compare(name, make, opt_name, X, y, epochs, batch_size):
    """Median epoch seconds of nnlib (engine), nnlib (readable) and torch."""
    fast, plain = built(make, True), built(make, False)
    twin = to_torch(fast)
    make_ours, make_theirs = OPTIMIZERS[opt_name]
    opt_fast, opt_plain, topt = make_ours(), make_ours(), make_theirs(twin.parameters())
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    times = {"engine": [], "readable": [], "torch": []}
    for epoch in range(epochs):
        seed = 1000 + epoch
        order = np.random.default_rng(seed).permutation(len(X))  # fit's shuffle with rng=seed
        times["engine"].append(
            _timed(lambda s=seed: epoch_nnlib(fast, opt_fast, X, y, s, batch_size, True))
        )
        times["readable"].append(
            _timed(lambda s=seed: epoch_nnlib(plain, opt_plain, X, y, s, batch_size, False))
        )
        times["torch"].append(
            _timed(lambda o=order: epoch_torch(twin, topt, Xt, yt, o, batch_size)))  # fmt: skip
    accuracy = {}
    for label, model in [("engine", fast), ("readable", plain)]:
        accuracy[label] = float(np.mean(model.predict(X[:10000]).argmax(1) == y[:10000]))
    with torch.no_grad():
        accuracy["torch"] = float((twin(Xt[:10000]).argmax(1) == yt[:10000]).float().mean())
    row = {"network": name, "optimizer": opt_name}
    for label, t in times.items():
        row[f"{label}_s"] = statistics.median(t)
        row[f"{label}_epochs_s"] = t
        row[f"train_acc_{label}"] = accuracy[label]
    row["ratio"] = row["engine_s"] / row["torch_s"]
    row["readable_ratio"] = row["readable_s"] / row["torch_s"]
    print(
        f"{name:<16} {opt_name:<13} engine {row['engine_s']:6.2f} s  readable "
        f"{row['readable_s']:6.2f} s  torch {row['torch_s']:6.2f} s  ratios "
        f"{row['ratio']:.3f} / {row['readable_ratio']:.3f}   (train acc "
        + " / ".join(f"{a:.3f}" for a in accuracy.values())
        + ")",
        flush=True,
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json")
    args = parser.parse_args()

    data = load_fashion_mnist("full")
    X = data.X_train.reshape(len(data.X_train), -1)
    y = data.y_train
    report = {"machine": machine(), "dataset": data.name, "n_train": len(y),
              "epochs": args.epochs, "batch_size": args.batch_size, "results": []}  # fmt: skip
    report["gemm_gflops"] = gemm_peak()
    print(f"{data.name}, {len(y)} images; float32 GEMM peak {report['gemm_gflops']:.1f} GFLOP/s")
    report["optimizer_steps"] = optimizer_steps()
    for sizes in [(784, 256, 10), (784, 512, 256, 10)]:
        name = "MLP " + "-".join(map(str, sizes))
        for opt_name in OPTIMIZERS:
            row = compare(name, lambda s=sizes: mlp(s), opt_name, X, y, args.epochs,
                          args.batch_size)  # fmt: skip
            flops = 6 * len(y) * sum(d * m for d, m in zip(sizes[:-1], sizes[1:]))
            row["gflops_nnlib"] = flops / row["engine_s"] / 1e9
            report["results"].append(row)
    if not args.skip_cnn:
        Xi = data.X_train[:, None]  # NCHW
        report["pool_backward"] = pool_backward(Xi)
        report["results"].append(
            compare("LeNet-5 CNN", lenet, "SGD+momentum", Xi, y, args.epochs, args.batch_size)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
