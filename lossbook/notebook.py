"""One call at the top of every notebook: seed everything, pick a device, say where we run."""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["Environment", "pick_device", "setup"]


@dataclass(frozen=True)
class Environment:
    """What :func:`setup` found: the device to use and the versions that matter."""

    device: str
    seed: int
    python: str
    numpy: str
    torch: str | None
    lossbook: str

    def summary(self) -> str:
        torch = self.torch or "not installed"
        return (
            f"lossbook {self.lossbook} | device {self.device} | seed {self.seed} | "
            f"python {self.python} | numpy {self.numpy} | torch {torch}"
        )


def pick_device(preferred: str | None = None) -> str:
    """``'cuda'`` if a GPU is usable, else ``'mps'`` (Apple silicon), else ``'cpu'``.

    ``preferred`` (or the environment variable ``LOSSBOOK_DEVICE``) overrides the choice.
    Without torch the answer is ``'cpu'``.
    """
    choice = preferred or os.environ.get("LOSSBOOK_DEVICE")
    if choice:
        if choice not in ("cuda", "mps", "cpu"):
            raise ValueError(f"device must be 'cuda', 'mps' or 'cpu'; got {choice!r}")
        return choice
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def setup(seed: int = 0, *, device: str | None = None, verbose: bool = True) -> Environment:
    """Seed Python, NumPy and torch, choose the device and print a one-line summary.

    TF32 matrix multiplication is switched off on CUDA so that results agree with the CPU to
    float32 precision (the exercises' tolerances assume it).

    Example:
        >>> env = setup(seed=1, device="cpu", verbose=False)
        >>> env.device, env.seed
        ('cpu', 1)
    """
    import lossbook

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)  # for third-party code that still uses the global generator
    torch_version = None
    try:
        import torch
    except ImportError:
        torch = None
    dev = pick_device(device)
    if torch is not None:
        torch_version = torch.__version__
        torch.manual_seed(seed)  # seeds every CUDA device too
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    env = Environment(
        device=dev,
        seed=seed,
        python=platform.python_version(),
        numpy=np.__version__,
        torch=torch_version,
        lossbook=lossbook.__version__,
    )
    if verbose:
        print(env.summary(), file=sys.stdout)
    return env
