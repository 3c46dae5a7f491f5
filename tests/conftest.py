"""Shared fixtures. Tests run with float64 unless they say otherwise."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # no display in CI; set before any pyplot import

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy in kernels
