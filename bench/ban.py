"""Benchmark: what the reference ban (``lossbook_grader.ban.Ban``) costs a graded call.

    python bench/ban.py [--repeat 200] [--out _build/bench/ban.json]

Every Python and C call made under a ban goes through its profile hook, and a ban that
forbids a package defining NumPy ufuncs (SciPy) swaps them for stand-ins at each call. This
times three calls plain and banned: a NumPy Huber loss on 40 values, the same under a ban that
also forbids SciPy and scikit-learn (the ufunc swap), and 20 SGD steps of a one-weight torch
model (Python-heavy code). The best of three rounds of ``--repeat`` calls each is kept. This
is a benchmark, not a test: ``make bench`` runs it, and nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import scipy.special  # noqa: F401 (its ufuncs are what a "scipy" ban swaps)
import sklearn.linear_model  # noqa: F401 (as in a grading kernel that imported it)
import torch

from lossbook_grader.ban import Ban

ROOT = Path(__file__).resolve().parents[1]


def huber(y_pred, y_true, delta=1.0):
    r = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))))


def sgd(x, y, steps=20):
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        ((w * x - y) ** 2).mean().backward()
        opt.step()
    return w


def timed(fn, *args, repeat: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "bench" / "ban.json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(18)
    p, t = rng.normal(0, 3, size=40), rng.normal(0, 3, size=40)
    x, y = torch.as_tensor(p), torch.as_tensor(t)
    cases = {
        "numpy huber, 40 values; Ban('lossbook', 'torch:huber_loss')":
            (Ban("lossbook", "torch:huber_loss"), huber, p, t),
        "numpy huber, 40 values; Ban(... , 'scipy', 'sklearn')":
            (Ban("lossbook", "torch:huber_loss", "scipy", "sklearn"), huber, p, t),
        "torch SGD, 20 steps; Ban('lossbook', 'torch:huber_loss')":
            (Ban("lossbook", "torch:huber_loss"), sgd, x, y),
    }
    rows = []
    for name, (ban, fn, *fargs) in cases.items():
        plain = timed(fn, *fargs, repeat=args.repeat)
        banned = timed(ban, fn, *fargs, repeat=args.repeat)
        rows.append({"case": name, "plain_us": plain * 1e6, "banned_us": banned * 1e6,
                     "extra_us": (banned - plain) * 1e6, "ratio": banned / plain})
        print(f"{name}: {plain * 1e6:.0f} us plain, {banned * 1e6:.0f} us banned "
              f"(+{(banned - plain) * 1e6:.0f} us, x{banned / plain:.1f})")
    result = {"machine": platform.platform(), "python": platform.python_version(),
              "repeat": args.repeat, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
