"""How accurate is the book's best CNN (Chapter 9) on full Fashion-MNIST?

The target (from the issue that added Part III): at least 93.0 % test accuracy, in at most
20 minutes of training on a 2-core machine like the one that builds the book. Chapter 6's
LeNet-style CNN reaches 92.0 % (``cnn_accuracy.py``).

The network uses what Chapters 8 and 9 add: batch normalisation after every convolution
and after the hidden dense layer, dropout, and Adam with a one-epoch linear warm-up and a
cosine schedule (Chapter 7), for 12 epochs in batches of 128::

    Conv2D(1, 32, 3, padding=1) - BatchNorm2d - ReLU - MaxPool2D(2)       (N, 32, 14, 14)
    Conv2D(32, 64, 3, padding=1) - BatchNorm2d - ReLU - MaxPool2D(2)      (N, 64, 7, 7)
    Flatten - Dense(3136, 128) - BatchNorm1d - ReLU - Dropout(0.3) - Dense(128, 10)

Augmentation by random shifts of up to 2 pixels (``nnlib.data.random_shift``, Chapter 8)
was tried and not chosen: after 12 epochs on the validation split it reached 93.28 %,
against 93.53 % without (a difference within the noise of 6,000 images, but the rule is
to take the better validation score). With so much data the network overfits little in
12 epochs, and shifted images mostly make its training task harder.

Choices are made on a validation split, never on the test set:

- ``--stage validate`` trains on 54,000 of the 60,000 training images and reports the
  accuracy on the other 6,000 (a fixed random split, seed 0) after every epoch. It adds
  its run to ``results/bn_cnn_validation_fashion.json``; the test set is not loaded.
- ``--stage final`` trains with the settings chosen there (``CHOSEN`` below) on all
  60,000 training images, then evaluates the test set once, after the last epoch. It
  writes ``results/bn_cnn_accuracy_fashion.json``, which Chapter 9 quotes.

Usage (on a shared machine, ``OPENBLAS_NUM_THREADS=1`` avoids BLAS threads fighting
over the cores)::

    python benchmarks/bn_cnn_accuracy.py --stage validate --augment none
    python benchmarks/bn_cnn_accuracy.py --stage validate --augment shift
    python benchmarks/bn_cnn_accuracy.py --stage final      # the settings in CHOSEN

Full Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package (offline) or a
download.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from nnlib.conv import BatchNorm2d, Conv2D, MaxPool2D
from nnlib.data import load_fashion_mnist, random_shift
from nnlib.layers import BatchNorm1d, Dense, Dropout, Flatten, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.network import Sequential
from nnlib.optim import Adam
from nnlib.schedules import CosineAnnealingLR, LinearWarmup
from nnlib.train import evaluate, fit

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_PERCENT, BUDGET_SECONDS = 93.0, 20 * 60
N_VAL = 6000
# The settings of the final run, chosen on the validation split: see the runs recorded in
# results/bn_cnn_validation_fashion.json (no augmentation 93.53 %, shifts 93.28 %).
CHOSEN = {"augment": "none", "epochs": 12, "lr": 2e-3, "batch_size": 128}


def best_cnn(seed=0):
    """The book's best CNN (Chapter 9) for (N, 1, 28, 28) images."""
    rng = np.random.default_rng(seed)
    return Sequential([
        Conv2D(1, 32, 3, padding=1, rng=rng), BatchNorm2d(32), ReLU(), MaxPool2D(2),
        Conv2D(32, 64, 3, padding=1, rng=rng), BatchNorm2d(64), ReLU(), MaxPool2D(2),
        Flatten(),
        Dense(64 * 7 * 7, 128, rng=rng), BatchNorm1d(128), ReLU(), Dropout(0.3, rng=rng),
        Dense(128, 10, rng=rng),
    ])  # fmt: skip


AUGMENTS = {
    "none": None,
    "shift": lambda X, rng: random_shift(X, 2, rng),
}
AUGMENT_TEXT = {"none": "none", "shift": "random_shift(X, 2, rng)"}


def validation_split(n, n_val=N_VAL, seed=0):
    """(training indices, validation indices): a fixed random split of range(n)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class Record:
    """A ``fit`` callback: after every epoch, print progress and save the results so far."""

    def __init__(self, results, save):
        self.results, self.save = results, save

    def on_epoch_end(self, epoch, history):
        r = self.results
        r["train_loss"], r["train_accuracy"] = history.loss, history.accuracy
        r["epoch_end_seconds"], r["lr"] = history.time, history.lr
        if history.val_accuracy:
            r["val_accuracy"] = history.val_accuracy
        r["epochs_done"], r["seconds"] = epoch + 1, history.time[-1]
        self.save()
        val = f", val acc {100 * history.val_accuracy[-1]:.2f} %" if history.val_accuracy else ""
        print(
            f"epoch {epoch + 1:2d}: train loss {history.loss[-1]:.4f}, train acc "
            f"{100 * history.accuracy[-1]:.2f} %{val}, lr {history.lr[-1]:.2e}, "
            f"{history.time[-1]:.0f} s",
            flush=True,
        )


def train(model, X, y, settings, seed, callbacks, validation_data=None):
    steps_per_epoch = -(-len(X) // settings["batch_size"])
    schedule = LinearWarmup(steps_per_epoch, after=CosineAnnealingLR(T_max=settings["epochs"]))
    return fit(model, SoftmaxCrossEntropy(), Adam(lr=settings["lr"]), X, y,
               epochs=settings["epochs"], batch_size=settings["batch_size"],
               validation_data=validation_data, rng=seed, augment=AUGMENTS[settings["augment"]],
               callbacks=[schedule, *callbacks], progress=False)  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=["validate", "final"], default="final")
    parser.add_argument("--augment", choices=list(AUGMENTS), default=CHOSEN["augment"])
    parser.add_argument("--epochs", type=int, default=CHOSEN["epochs"])
    parser.add_argument("--lr", type=float, default=CHOSEN["lr"])
    parser.add_argument("--batch-size", type=int, default=CHOSEN["batch_size"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = {"augment": args.augment, "epochs": args.epochs, "lr": args.lr,
                "batch_size": args.batch_size}  # fmt: skip
    if args.stage == "final" and settings != CHOSEN:
        parser.error(f"the final stage runs the chosen settings {CHOSEN}; try them with "
                     "--stage validate instead")  # fmt: skip
    if args.epochs < 1 or args.batch_size < 1:
        parser.error(
            f"--epochs and --batch-size must be >= 1, got {args.epochs}, {args.batch_size}"
        )

    # Never the sample: these figures are about the full data set.
    data = load_fashion_mnist(source="full")
    X, y = data.X_train[:, None], data.y_train  # (N, 1, 28, 28)
    model = best_cnn(args.seed)
    RESULTS.mkdir(exist_ok=True)
    results = {
        "dataset": data.name,
        "source": data.source,
        "stage": args.stage,
        "architecture": repr(model),
        "parameters": int(sum(p.size for p in model.params.values())),
        "settings": {**settings, "optimizer": f"Adam(lr={args.lr})",
                     "schedule": "LinearWarmup(1 epoch, after=CosineAnnealingLR(T_max=epochs))",
                     "augmentation": AUGMENT_TEXT[args.augment]},
        "seed": args.seed,
        "numpy": np.__version__,
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip
    print(f"{model}\n{results['settings']}", flush=True)

    if args.stage == "validate":
        out = RESULTS / "bn_cnn_validation_fashion.json"
        train_idx, val_idx = validation_split(len(y))
        results.update(n_train=len(train_idx), n_val=len(val_idx))

        def save():  # (read again each time: other validation runs may be writing too)
            runs = json.loads(out.read_text())["runs"] if out.exists() else []
            kept = [r for r in runs if r["settings"] != results["settings"]]
            note = (
                "Validation runs for bn_cnn_accuracy.py: trained on n_train of the 60,000 "
                "training images, accuracy on the other n_val; the test set is not used."
            )
            out.write_text(json.dumps({"note": note, "runs": [*kept, results]}, indent=2) + "\n")

        train(model, X[train_idx], y[train_idx], settings, args.seed, [Record(results, save)],
              validation_data=(X[val_idx], y[val_idx]))  # fmt: skip
        best = max(results["val_accuracy"])
        last = results["val_accuracy"][-1]
        print(f"\nValidation accuracy {100 * last:.2f} % after the last epoch (best "
              f"{100 * best:.2f} %), {results['seconds']:.0f} s. Wrote {out}")  # fmt: skip
        return

    out = RESULTS / "bn_cnn_accuracy_fashion.json"
    results.update(n_train=len(y), n_test=len(data.y_test), target_percent=TARGET_PERCENT,
                   budget_seconds=BUDGET_SECONDS)  # fmt: skip

    def save():
        out.write_text(json.dumps(results, indent=2) + "\n")

    train(model, X, y, settings, args.seed, [Record(results, save)])
    acc = evaluate(model, data.X_test[:, None], data.y_test)["accuracy"]  # the one look at it
    results["test_accuracy_percent"] = 100 * acc
    results["meets_accuracy_target"] = bool(100 * acc >= TARGET_PERCENT)
    results["meets_time_budget"] = bool(results["seconds"] <= BUDGET_SECONDS)
    save()
    print(f"\nTest accuracy on {data.name} (source={data.source!r}): {100 * acc:.2f} % after "
          f"{args.epochs} epochs, {results['seconds']:.0f} s of training (targets: "
          f"{TARGET_PERCENT} %, {BUDGET_SECONDS} s). Wrote {out}")  # fmt: skip


if __name__ == "__main__":
    main()
