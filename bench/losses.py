"""Benchmark: every lossbook loss against a reference implementation (time, memory, agreement).

    python bench/losses.py --out bench/results/losses.json [--threads 1] [--quick] [--only NAME ...]

For each loss (``bench/references.py`` says what each reference follows), on the same seeded
float32 inputs and the same number of CPU threads (the inputs come from
``lossbook.testing.INPUTS``, the registry of input makers that lossbook's tests use too, here at
the benchmark's sizes):

- **time**: forward + ``loss.backward()`` (gradients cleared between runs), timed with
  ``torch.utils.benchmark.Timer.blocked_autorange``, lossbook and reference interleaved
  (several rounds, alternating which goes first); the median run time of each side. A side whose
  single call takes more than a second (pytorch-metric-learning's NTXentLoss: minutes) is
  warmed up at the small test size and timed once, with ``time.perf_counter``.
- **peak memory**: in a fresh subprocess started with ``MALLOC_MMAP_THRESHOLD_=4096`` (glibc
  then gives every freed tensor back to the OS, so the resident set tracks live memory): after a
  warm-up call, ``/proc/self/clear_refs`` resets the high-water mark, and the peak is VmHWM
  minus the resident set just before forward + backward. Timing and memory never share a
  process.
- **agreement** (rows whose formulas should agree): the largest absolute difference of the
  value and of the gradients, in float64 on the small (``--quick``) inputs.

Then the chunked InfoNCE / NT-Xent memory (``chunk_size``) at 32,768 embeddings, and the speed-up
of ``info_nce`` and ``nt_xent`` over pytorch-metric-learning's ``NTXentLoss``. The results go to
a JSON file that the book's Performance page (book/performance.ipynb) renders, and a table is
printed. This is a benchmark, not a test: ``make bench-losses`` runs it; tests/bench/test_bench.py
runs ``--quick``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: `bench` is this folder's package

import lossbook as lb  # noqa: E402
from bench import references as R  # noqa: E402
from lossbook.testing import INPUTS  # noqa: E402

SLOW_S = 1.0  # a side slower than this per call is timed once, after a small warm-up
MIB = 1024 * 1024


# ------------------------------------------------------------------------------- the cases
Arrays = tuple[np.ndarray, ...]


@dataclass
class Case:
    """One row: a lossbook loss, its reference, and how to build their inputs.

    ``make(rng, sizes)`` draws the arguments as NumPy arrays from ``lossbook.testing.INPUTS``,
    the registry of input makers that lossbook's tests use too (at their small sizes);
    :func:`build` turns them into tensors and makes the arguments listed in ``grad`` leaves
    that need a gradient.
    """

    key: str  # unique row id (a loss name, or loss[variant])
    loss: str  # the lossbook function
    group: str  # a key of references.GROUPS
    reference: str  # what the reference is, in words
    reference_file: str  # the file it follows
    sizes: dict[str, Any]  # full benchmark sizes
    quick: dict[str, Any]  # test sizes (also where agreement is checked, in float64)
    make: Callable[[np.random.Generator, dict[str, Any]], Arrays]
    ours: Callable[..., torch.Tensor]
    ref: Callable[..., torch.Tensor]
    tol: float | None = 1e-9  # agreement tolerance in float64; None: different formulas
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    grad: tuple[int, ...] = (0,)  # the arguments differentiated (the rest: labels, references)
    as_list: bool = False  # the loss takes the arrays as one list (the penalties' parameters)


def _leaf(x: torch.Tensor) -> torch.Tensor:
    return x.detach().requires_grad_(True)


# The inputs of each row, drawn from the registry (standard normal values, scale 1) at the
# benchmark's sizes; ``s`` is the row's sizes.
def _vec(rng, s):  # prediction and target of n elements
    return INPUTS["regression"].make(rng, 1.0, shape=(s["n"],))


def _binary(rng, s):  # logits and 0/1 labels, 30% positive
    return INPUTS["binary_logits"].make(rng, 1.0, shape=(s["n"],), positive_rate=0.3)


def _signed(rng, s):  # decision values and -1/+1 labels
    return INPUTS["signed_scores"].make(rng, 1.0, shape=(s["n"],))


def _probs(rng, s):  # probabilities and soft targets
    return INPUTS["probabilities"].make(rng, 1.0, shape=(s["n"],))


def _classes(rng, s):  # logits and class indices
    return INPUTS["class_logits"].make(rng, 1.0, n=s["N"], classes=s["C"])


def _kl(rng, s):  # log-probabilities and probabilities
    return INPUTS["log_probabilities"].make(rng, 1.0, n=s["N"], classes=s["C"])


def _tokens(rng, s):
    return INPUTS["token_logits"].make(rng, 1.0, batch=s["B"], length=s["T"], vocab=s["V"])


def _triplets(rng, s):
    # The registry's positives are the anchors plus noise of half the scale, its negatives
    # independent: d(a, p) - d(a, n) is then about -0.91 * scale * sqrt(D), and with scale
    # 1.1 / sqrt(D) about half the triplets are inside the margin of 1 (a loss and a gradient).
    return INPUTS["triplets"].make(rng, 1.1 / math.sqrt(s["D"]), n=s["N"], dim=s["D"])


def _two_views(rng, s):
    # views of signal-to-noise ratio 0.5, loosely related: a loss far from 0 at every temperature
    return INPUTS["two_views"].make(rng, 1.0, n=s["N"], dim=s["D"], snr=0.5)


def _labelled(rng, s):  # every class the same size: a known number of triplets
    return INPUTS["labelled_embeddings"].make(rng, 1.0, n=s["N"], dim=s["D"],
                                              classes=s["classes"], balanced=True)


def _pairs(rng, s):
    # The pair distances are about scale / 2 * sqrt(D): with scale 2 / sqrt(D) they straddle
    # the margin of 1.
    return INPUTS["pairs"].make(rng, 2.0 / math.sqrt(s["D"]), n=s["N"], dim=s["D"])


def _graded(rng, s):
    """Scores and graded relevance 0-4: each query a permutation of the same labels.

    Every query then has the same number of pairs, where allRank's RankNet (mean over the
    pairs of the batch) and lossbook's (mean per query, then over queries) agree.
    """
    return INPUTS["graded_lists"].make(rng, 1.0, queries=s["Q"], items=s["L"])


def _distinct(rng, s):
    """Scores and relevance without ties (a permutation of 0..L-1 per query)."""
    return INPUTS["distinct_lists"].make(rng, 1.0, queries=s["Q"], items=s["L"])


def _dpo(rng, s):
    return INPUTS["preferences"].make(rng, 1.0, batch=s["B"])


def _cost(rng, s):  # probabilities, labels, and a random cost matrix with a zero diagonal
    probs, labels = INPUTS["class_probabilities"].make(rng, 1.0, n=s["N"], classes=s["C"])
    cost = rng.uniform(size=(s["C"], s["C"])) * 10 * (1 - np.eye(s["C"]))
    return probs, labels, cost


def _params(rng, s):
    return INPUTS["parameters"].make(rng, 1.0, shapes=tuple(s["shapes"]))


def cases() -> list[Case]:
    n_full, n_quick = {"n": 1 << 20}, {"n": 1 << 16}
    cls_full, cls_quick = {"N": 4096, "C": 1000}, {"N": 256, "C": 256}
    emb_quick = {"N": 512, "D": 64}
    rank_full, rank_quick = {"Q": 1024, "L": 64}, {"Q": 1024, "L": 32}
    F_FILE = "torch/nn/functional.py"
    AR = "allrank/models/losses/"
    PML = "pytorch_metric_learning/losses/"
    twin, pml, ar, written = "fused F twin", "pytorch-metric-learning", "allRank", "written formula"
    c = [
        # regression
        Case("mse", "mse", twin, "F.mse_loss", F_FILE, n_full, n_quick, _vec, lb.mse, R.mse),
        Case("mae", "mae", twin, "F.l1_loss", F_FILE, n_full, n_quick, _vec, lb.mae, R.mae),
        Case("huber", "huber", twin, "F.huber_loss(delta=1)", F_FILE, n_full, n_quick, _vec,
             lambda x, y: lb.huber(x, y, delta=1.0), lambda x, y: R.huber(x, y, delta=1.0)),
        Case("smooth_l1", "smooth_l1", twin, "F.smooth_l1_loss(beta=1)", F_FILE, n_full,
             n_quick, _vec, lambda x, y: lb.smooth_l1(x, y, beta=1.0),
             lambda x, y: R.smooth_l1(x, y, beta=1.0)),
        Case("log_cosh", "log_cosh", written, "torch.log(torch.cosh(r)).mean()",
             "bench/references.py", n_full, n_quick, _vec, lb.log_cosh, R.log_cosh,
             note="the naive form overflows beyond |r| = 89 in float32"),
        Case("quantile", "quantile", written, "mean_pinball_loss formula (q=0.9)",
             "sklearn/metrics/_regression.py", n_full, n_quick, _vec,
             lambda x, y: lb.quantile(x, y, q=0.9), lambda x, y: R.quantile(x, y, q=0.9)),
        # classification
        Case("binary_cross_entropy", "binary_cross_entropy", twin, "F.binary_cross_entropy",
             F_FILE, n_full, n_quick, _probs, lb.binary_cross_entropy, R.binary_cross_entropy),
        Case("binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits", twin,
             "F.binary_cross_entropy_with_logits", F_FILE, n_full, n_quick, _binary,
             lb.binary_cross_entropy_with_logits, R.binary_cross_entropy_with_logits),
        Case("cross_entropy", "cross_entropy", twin, "F.cross_entropy (index targets)", F_FILE,
             cls_full, cls_quick, _classes, lb.cross_entropy, R.cross_entropy),
        Case("multiclass_hinge", "multiclass_hinge", twin, "F.multi_margin_loss", F_FILE,
             cls_full, cls_quick, _classes, lb.multiclass_hinge, R.multiclass_hinge),
        Case("kl_div", "kl_div", twin, 'F.kl_div(reduction="batchmean")', F_FILE, cls_full,
             cls_quick, _kl, lb.kl_div, R.kl_div),
        Case("next_token_cross_entropy", "next_token_cross_entropy", twin,
             "F.cross_entropy on shifted logits", F_FILE, {"B": 8, "T": 256, "V": 8192},
             {"B": 2, "T": 64, "V": 512}, _tokens, lb.next_token_cross_entropy,
             R.next_token_cross_entropy),
        Case("focal_loss", "focal_loss", written, "sigmoid_focal_loss formula (mean)",
             "torchvision/ops/focal_loss.py", n_full, n_quick, _binary,
             lambda x, y: lb.focal_loss(x, y, alpha=0.25, gamma=2.0),
             lambda x, y: R.focal_loss(x, y, alpha=0.25, gamma=2.0),
             note="the naive power gives NaN gradients for gamma < 1"),
        Case("softmax_focal_loss", "softmax_focal_loss", written,
             "-(1 - p_t)**gamma * log p_t from log_softmax", "bench/references.py", cls_full,
             cls_quick, _classes, lambda x, y: lb.softmax_focal_loss(x, y, gamma=2.0),
             lambda x, y: R.softmax_focal_loss(x, y, gamma=2.0)),
        Case("hinge", "hinge", written, "clamp(1 - y f, min=0).mean()", "bench/references.py",
             n_full, n_quick, _signed, lb.hinge, R.hinge),
        Case("squared_hinge", "squared_hinge", written, "clamp(1 - y f, min=0).pow(2).mean()",
             "bench/references.py", n_full, n_quick, _signed, lb.squared_hinge,
             R.squared_hinge),
        # embeddings
        Case("triplet_loss", "triplet_loss", twin, "F.triplet_margin_loss(eps=0)", F_FILE,
             {"N": 4096, "D": 256}, emb_quick, _triplets, lb.triplet_loss, R.triplet_loss,
             grad=(0, 1, 2)),
        Case("nt_xent", "nt_xent", pml, "NTXentLoss(temperature=0.5)", PML + "ntxent_loss.py",
             {"N": 512, "D": 256}, {"N": 64, "D": 256}, _two_views,
             lambda a, b: lb.nt_xent(a, b, temperature=0.5),
             lambda a, b: R.nt_xent(a, b, temperature=0.5), grad=(0, 1),
             note="2N = 1024 embeddings; PML is timed once (a call takes minutes)"),
        Case("batch_triplet_loss[batch_all]", "batch_triplet_loss", pml,
             "TripletMarginLoss(margin=1, LpDistance(normalize_embeddings=False))",
             PML + "triplet_margin_loss.py", {"N": 1024, "D": 256, "classes": 64},
             {"N": 48, "D": 64, "classes": 4}, _labelled,
             lambda e, y: lb.batch_triplet_loss(e, y, mining="batch_all"),
             lambda e, y: R.batch_triplet_loss(e, y, mining="batch_all"),
             note="AvgNonZeroReducer = lossbook's mean over the active triplets; N = 1024 in "
                  "64 classes: about 15 million triplets"),
        Case("batch_triplet_loss[batch_hard]", "batch_triplet_loss", pml,
             "BatchHardMiner + TripletMarginLoss(MeanReducer)",
             "pytorch_metric_learning/miners/batch_hard_miner.py",
             {"N": 1024, "D": 256, "classes": 64}, {"N": 128, "D": 64, "classes": 8}, _labelled,
             lambda e, y: lb.batch_triplet_loss(e, y, mining="batch_hard"),
             lambda e, y: R.batch_triplet_loss(e, y, mining="batch_hard")),
        Case("contrastive_loss", "contrastive_loss", pml,
             "ContrastiveLoss(pos_margin=0, neg_margin=1), pairs via indices_tuple",
             PML + "contrastive_loss.py", {"N": 512, "D": 256}, emb_quick, _pairs,
             lb.contrastive_loss, R.contrastive_loss, tol=None, grad=(0, 1),
             note="time only: PML uses d and max(m-d,0) unsquared and averages positive and "
                  "negative pairs separately over non-zero terms; it also computes the full "
                  "(2N, 2N) distance matrix"),
        Case("multiple_negatives_ranking_loss", "multiple_negatives_ranking_loss", written,
             "cos_sim * 20, then F.cross_entropy",
             "sentence_transformers/losses/MultipleNegativesRankingLoss.py",
             {"N": 1024, "D": 256}, emb_quick, _two_views,
             lb.multiple_negatives_ranking_loss, R.multiple_negatives_ranking_loss,
             grad=(0, 1)),
        Case("info_nce", "info_nce", written, "normalise, q @ k.T / 0.07, F.cross_entropy (CLIP)",
             "bench/references.py", {"N": 512, "D": 256}, emb_quick, _two_views,
             lambda q, k: lb.info_nce(q, k, temperature=0.07),
             lambda q, k: R.info_nce(q, k, temperature=0.07), grad=(0, 1),
             note="N = 512 queries and 512 keys (2N = 1024)"),
        # ranking
        Case("ranknet_loss", "ranknet_loss", ar, "rankNet (BCEWithLogits on all pairs)",
             AR + "rankNet.py", rank_full, rank_quick, _graded, lb.ranknet_loss,
             R.ranknet_loss, note="labels: each query a permutation of the same grades, so "
                                  "both means agree"),
        Case("listnet_loss", "listnet_loss", ar, "listNet (eps=1e-10)", AR + "listNet.py",
             rank_full, rank_quick, _graded, lb.listnet_loss, R.listnet_loss, tol=1e-6,
             note="allRank adds eps = 1e-10 inside the log"),
        Case("listmle_loss", "listmle_loss", ar, "listMLE (eps=1e-10)", AR + "listMLE.py",
             rank_full, rank_quick, _distinct, lb.listmle_loss, R.listmle_loss, tol=1e-6,
             note="labels without ties (allRank breaks ties at random)"),
        Case("lambdarank_loss", "lambdarank_loss", ar,
             'lambdaLoss("lambdaRank_scheme", k=None, natural log, sum) / Q',
             AR + "lambdaLoss.py", rank_full, rank_quick, _graded, lb.lambdarank_loss,
             R.lambdarank_loss, note="equal for k=None; with k allRank keeps only pairs with "
                                     "both items in the top k"),
        Case("dpo_loss", "dpo_loss", written, "TRL sigmoid DPO: -logsigmoid(beta * margin)",
             "trl/trainer/dpo_trainer.py", {"B": 4096}, {"B": 1 << 16}, _dpo,
             lambda a, b, c, d: lb.dpo_loss(a, b, c, d, beta=0.1),
             lambda a, b, c, d: R.dpo_loss(a, b, c, d, beta=0.1), grad=(0, 1)),
        # business
        Case("asymmetric_squared_error", "asymmetric_squared_error", written,
             "under * relu(-r)**2 + over * relu(r)**2", "bench/references.py", n_full, n_quick,
             _vec, lambda x, y: lb.asymmetric_squared_error(x, y, under_weight=3.0),
             lambda x, y: R.asymmetric_squared_error(x, y, under_weight=3.0)),
        Case("cost_sensitive_binary_cross_entropy", "cost_sensitive_binary_cross_entropy",
             written, "fp_cost * F.binary_cross_entropy_with_logits(pos_weight=fn/fp)",
             "bench/references.py", n_full, n_quick, _binary,
             lambda x, y: lb.cost_sensitive_binary_cross_entropy(x, y, fn_cost=5.0),
             lambda x, y: R.cost_sensitive_binary_cross_entropy(x, y, fn_cost=5.0)),
        Case("expected_cost", "expected_cost", written, "(p * cost[y]).sum(1).mean()",
             "bench/references.py", {"N": 262144, "C": 4}, {"N": 16384, "C": 4}, _cost,
             lambda p, y, c: lb.expected_cost(p, y, cost_matrix=c),
             lambda p, y, c: R.expected_cost(p, y, cost_matrix=c)),
        Case("l1_penalty", "l1_penalty", written, "weight * sum(|p|.sum())",
             "bench/references.py",
             {"shapes": [(1024, 1024), (1024,), (1000, 1024), (1000,)]},
             {"shapes": [(256, 256), (256,)]}, _params,
             lambda ps: lb.l1_penalty(ps, weight=1e-4), lambda ps: R.l1_penalty(ps, weight=1e-4),
             as_list=True),
        Case("l2_penalty", "l2_penalty", written, "weight * sum(p.pow(2).sum())",
             "bench/references.py",
             {"shapes": [(1024, 1024), (1024,), (1000, 1024), (1000,)]},
             {"shapes": [(256, 256), (256,)]}, _params,
             lambda ps: lb.l2_penalty(ps, weight=1e-4), lambda ps: R.l2_penalty(ps, weight=1e-4),
             as_list=True),
    ]
    keys = [x.key for x in c]
    assert len(keys) == len(set(keys))
    return c


CASES = {case.key: case for case in cases()}


# --------------------------------------------------------------------------- running a side
def _leaves(inputs: list[Any]) -> list[torch.Tensor]:
    out = []
    for x in inputs:
        if isinstance(x, list):
            out += _leaves(x)
        elif isinstance(x, torch.Tensor) and x.requires_grad:
            out.append(x)
    return out


def _to_tensor(array: np.ndarray, dtype: torch.dtype, leaf: bool) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array))
    if t.is_floating_point():
        t = t.to(dtype)  # values and labels in the benchmark's dtype; indices stay int64
    return _leaf(t) if leaf else t


def build(case: Case, sizes: dict[str, Any], dtype: torch.dtype) -> list[Any]:
    """The row's arguments at ``sizes``: the same seeded draws for both sides, every time."""
    arrays = case.make(np.random.default_rng(0), sizes)
    if case.as_list:
        return [[_to_tensor(a, dtype, leaf=True) for a in arrays]]
    return [_to_tensor(a, dtype, leaf=i in case.grad) for i, a in enumerate(arrays)]


def make_step(fn: Callable[..., torch.Tensor], inputs: list[Any]) -> Callable[[], None]:
    """Forward + backward once, with the gradients of the inputs cleared first."""
    leaves = _leaves(inputs)

    def step() -> None:
        for x in leaves:
            x.grad = None
        fn(*inputs).backward()

    return step


def size_text(sizes: dict[str, Any]) -> str:
    if "shapes" in sizes:
        total = sum(math.prod(s) for s in sizes["shapes"])
        return f"{len(sizes['shapes'])} tensors, {total:,} parameters"
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                     for k, v in sizes.items())


# ----------------------------------------------------------------------------------- timing
def time_case(case: Case, quick: bool, threads: int) -> dict[str, Any]:
    """Median forward+backward time (ms) of both sides, interleaved."""
    from torch.utils.benchmark import Timer

    rounds, min_run = (1, 0.01) if quick else (3, 0.2)
    sizes = case.quick if quick else case.sizes
    inputs = build(case, sizes, torch.float32)
    small = build(case, case.quick, torch.float32)
    sides = {"lossbook": case.ours, "reference": case.ref}
    steps = {side: make_step(fn, inputs) for side, fn in sides.items()}
    times: dict[str, list[float]] = {side: [] for side in sides}
    slow = {}
    for side, fn in sides.items():
        make_step(fn, small)()  # warm-up on the small inputs (code paths, thread pool)
        # One call at full size: a warm-up, or the measurement of a side that takes more than
        # SLOW_S (Timer.timeit(1) would first run two more calls as its own warm-up).
        start = time.perf_counter()
        steps[side]()
        first = time.perf_counter() - start
        slow[side] = first > SLOW_S
        if slow[side]:
            times[side].append(first)
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for side in order:
            if slow[side]:
                continue
            t = Timer("step()", globals={"step": steps[side]}, num_threads=threads)
            times[side] += list(t.blocked_autorange(min_run_time=min_run).times)
    ours, ref = (statistics.median(times[s]) * 1e3 for s in sides)
    return {"lossbook_ms": ours, "reference_ms": ref, "ratio": ours / ref,
            "lossbook_runs": len(times["lossbook"]), "reference_runs": len(times["reference"])}


# -------------------------------------------------------------------------------- agreement
def agreement(case: Case) -> dict[str, Any] | None:
    """Largest |difference| of value and gradients, float64, on the small inputs."""
    if case.tol is None:
        return None
    out = {}
    for side, fn in (("lossbook", case.ours), ("reference", case.ref)):
        torch.manual_seed(0)
        inputs = build(case, case.quick, torch.float64)
        value = fn(*inputs)
        value.backward()
        out[side] = (value.detach(), [x.grad for x in _leaves(inputs)])
    (v1, g1), (v2, g2) = out["lossbook"], out["reference"]
    value_diff = float((v1 - v2).abs())
    grad_diff = max(float((a - b).abs().max()) for a, b in zip(g1, g2))
    return {"value": float(v1), "value_abs_diff": value_diff, "grad_max_abs_diff": grad_diff,
            "tolerance": case.tol, "agree": value_diff <= case.tol and grad_diff <= case.tol,
            "dtype": "float64", "sizes": size_text(case.quick)}


# ----------------------------------------------------------------------------------- memory
def _status_kib(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def peak_mib(step: Callable[[], None], clear: Callable[[], None]) -> float:
    """Peak resident memory of one call of ``step`` above the resident set just before it."""
    clear()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
    base = _status_kib("VmRSS")
    step()
    return (_status_kib("VmHWM") - base) / 1024


def memory_job(job: str, quick: bool) -> dict[str, Any]:
    """Run in the memory worker: a case's two peaks, or one chunked measurement."""
    if job.startswith("chunked:"):
        return chunked_job(job, quick)
    case = CASES[job]
    sizes = case.quick if quick else case.sizes
    out = {}
    for side, fn in (("lossbook", case.ours), ("reference", case.ref)):
        inputs = build(case, sizes, torch.float32)
        make_step(fn, build(case, case.quick, torch.float32))()  # warm-up, small inputs
        step = make_step(fn, inputs)
        leaves = _leaves(inputs)
        if not quick and not _is_slow_reference(case, side, quick):
            step()  # warm-up at full size too, unless one call takes minutes

        def clear(leaves=leaves):
            for x in leaves:
                x.grad = None

        out[f"{side}_peak_mib"] = peak_mib(step, clear)
        del inputs, step, leaves
    return out


def _is_slow_reference(case: Case, side: str, quick: bool) -> bool:
    return side == "reference" and case.key == "nt_xent" and not quick


# ---------------------------------------------------------------------------------- chunked
CHUNKED_FULL = {"nt_xent": {"N": 16384, "D": 256, "chunk": 1024, "compare_N": 4096},
                "info_nce": {"N": 16384, "D": 256, "chunk": 1024, "compare_N": 16384}}
CHUNKED_QUICK = {"nt_xent": {"N": 1024, "D": 32, "chunk": 64, "compare_N": 1024},
                 "info_nce": {"N": 2048, "D": 32, "chunk": 64, "compare_N": 2048}}
UNCHUNKED_LIMIT_GIB = 8.0  # skip an unchunked run whose estimated peak is above this


def has_chunk_size(name: str) -> bool:
    return "chunk_size" in inspect.signature(getattr(lb, name)).parameters


def _contrastive(name: str, a, b, chunk):
    kwargs = {} if chunk is None else {"chunk_size": chunk}
    if name == "nt_xent":
        return lb.nt_xent(a, b, temperature=0.5, **kwargs)
    return lb.info_nce(a, b, temperature=0.07, **kwargs)


def chunked_job(job: str, quick: bool) -> dict[str, Any]:
    """``chunked:NAME:peak:N:CHUNK`` (CHUNK 0 = unchunked) or ``chunked:NAME:diff:N:CHUNK``."""
    _, name, what, n, chunk = job.split(":")
    n, chunk = int(n), int(chunk) or None
    d = (CHUNKED_QUICK if quick else CHUNKED_FULL)[name]["D"]
    g = torch.Generator().manual_seed(0)
    a, b = _leaf(torch.randn(n, d, generator=g)), _leaf(torch.randn(n, d, generator=g))
    if what == "peak":
        small = [_leaf(torch.randn(256, d)), _leaf(torch.randn(256, d))]
        _contrastive(name, *small, None if chunk is None else 64).backward()  # warm-up

        def step():
            _contrastive(name, a, b, chunk).backward()

        def clear():
            a.grad = b.grad = None

        return {"peak_mib": peak_mib(step, clear)}
    # diff: chunked against unchunked, same inputs
    results = []
    for c in (None, chunk):
        a.grad = b.grad = None
        value = _contrastive(name, a, b, c)
        value.backward()
        results.append((value.detach(), a.grad.clone(), b.grad.clone()))
    (v0, ga0, gb0), (v1, ga1, gb1) = results
    return {"value": float(v0), "value_abs_diff": float((v0 - v1).abs()),
            "grad_max_abs_diff": max(float((ga0 - ga1).abs().max()),
                                     float((gb0 - gb1).abs().max()))}


def run_memory_worker(jobs: list[str], quick: bool, threads: int) -> dict[str, Any]:
    """Run ``jobs`` in a fresh interpreter with glibc's mmap threshold fixed at 64 KiB."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="4096")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-worker", *jobs,
           "--threads", str(threads)] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            results[item["job"]] = item["result"]
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        if proc.returncode < 0:
            why = f"killed by signal {-proc.returncode} (out of memory?)"
        for job in jobs:
            results.setdefault(job, {"error": why})
    return results


def memory_worker_main(jobs: list[str], quick: bool, threads: int) -> int:
    torch.set_num_threads(threads)
    for job in jobs:
        result = memory_job(job, quick)
        print(json.dumps({"job": job, "result": result}), flush=True)
    return 0


def chunked_jobs(quick: bool) -> list[str]:
    """The worker jobs of the chunked section: chunked peak, unchunked peak, differences."""
    jobs = []
    for name, c in (CHUNKED_QUICK if quick else CHUNKED_FULL).items():
        if has_chunk_size(name):
            jobs += [f"chunked:{name}:peak:{c['N']}:{c['chunk']}",
                     f"chunked:{name}:peak:{c['compare_N']}:0",
                     f"chunked:{name}:diff:{c['compare_N']}:{c['chunk']}"]
    return jobs


def chunked_section(quick: bool, threads: int,
                    results: dict[str, Any] | None = None) -> dict[str, Any]:
    """Chunked against unchunked memory; ``results``: the jobs already run (``--quick``)."""
    cfg = CHUNKED_QUICK if quick else CHUNKED_FULL
    section: dict[str, Any] = {
        "dtype": "float32",
        "note": ("peak resident memory of forward + backward above the resident set before "
                 "the call; differences are chunked minus unchunked on the same inputs"),
        "target_peak_mib": 1024, "rows": []}
    for name, c in cfg.items():
        n, d, chunk = c["N"], c["D"], c["chunk"]
        embeddings = 2 * n
        row: dict[str, Any] = {
            "loss": name, "embeddings": embeddings, "D": d, "chunk_size": chunk,
            "shape": (f"z1, z2: {n:,} x {d} each" if name == "nt_xent"
                      else f"query, key: {n:,} x {d} each")}
        if not has_chunk_size(name):
            row.update(skipped=True, note=f"lossbook.{name} has no chunk_size keyword yet")
            section["rows"].append(row)
            continue
        # the unchunked peak grows as (rows of the similarity matrix)^2: estimate it from a
        # run at the comparison size before trying the full size
        rows_sim = embeddings if name == "nt_xent" else n
        cmp_n = c["compare_N"]
        jobs = [f"chunked:{name}:peak:{n}:{chunk}", f"chunked:{name}:peak:{cmp_n}:0",
                f"chunked:{name}:diff:{cmp_n}:{chunk}"]
        res = (results if results is not None
               else run_memory_worker(jobs, quick, os.cpu_count() or threads))
        chunked_peak = res[jobs[0]].get("peak_mib")
        cmp_peak = res[jobs[1]].get("peak_mib")
        diff = res[jobs[2]]
        cmp_rows = 2 * cmp_n if name == "nt_xent" else cmp_n
        estimate = None if cmp_peak is None else cmp_peak * (rows_sim / cmp_rows) ** 2
        row.update(chunked_peak_mib=chunked_peak)
        if cmp_n == n:
            row.update(unchunked_peak_mib=cmp_peak, unchunked_measured=True)
        elif estimate is not None and estimate / 1024 <= UNCHUNKED_LIMIT_GIB:
            full = run_memory_worker([f"chunked:{name}:peak:{n}:0"], quick,
                                     os.cpu_count() or threads)
            row.update(unchunked_peak_mib=full[f"chunked:{name}:peak:{n}:0"].get("peak_mib"),
                       unchunked_measured=True)
        else:
            row.update(unchunked_peak_mib=estimate, unchunked_measured=False,
                       note=(f"unchunked not run at full size: about {estimate / 1024:.1f} GiB "
                             f"(the {cmp_peak:.0f} MiB measured with {cmp_rows:,} rows, scaled "
                             f"by the square of the rows), above the {UNCHUNKED_LIMIT_GIB:g} "
                             "GiB this benchmark allows itself on a shared machine"))
        row.update(compare_rows=cmp_rows if name == "nt_xent" else cmp_n,
                   compare_peak_unchunked_mib=cmp_peak,
                   value_abs_diff=diff.get("value_abs_diff"),
                   grad_max_abs_diff=diff.get("grad_max_abs_diff"),
                   met=None if chunked_peak is None else chunked_peak < 1024)
        if "error" in diff or "error" in res[jobs[0]]:
            row["error"] = diff.get("error") or res[jobs[0]].get("error")
        section["rows"].append(row)
    return section


# ------------------------------------------------------------------------------------ report
def machine(threads: int) -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        ram = int(meminfo.read_text().split("MemTotal:")[1].split()[0]) / MIB
    import numpy

    try:
        from importlib.metadata import version

        pml = version("pytorch-metric-learning")
    except Exception:  # noqa: BLE001 - reported as missing
        pml = None
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads,
            "ram_gib": None if ram is None else round(ram, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "pytorch_metric_learning": pml,
            "lossbook": lb.__version__, "platform": platform.platform(),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for group, target in R.GROUPS.items():
        ratios = [r["ratio"] for r in rows if r["group"] == group and r.get("ratio")]
        if not ratios:
            continue
        median = statistics.median(ratios)
        out.append({"group": group, "rows": len(ratios), "median_ratio": median,
                    "target": target, "met": None if target is None else median <= target,
                    "missed_rows": [r["key"] for r in rows if r["group"] == group
                                    and target is not None and r["ratio"] > target]})
    return out


def speedup(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    by_key = {r["key"]: r for r in rows}
    if "nt_xent" not in by_key:
        return None
    pml_ms = by_key["nt_xent"]["reference_ms"]
    out = {"size": "2N = 1,024 embeddings, D = 256, float32",
           "pml_ntxent_ms": pml_ms, "target": 100.0,
           "note": ("one PML NTXentLoss measurement (the nt_xent row's reference) serves both; "
                    "its cost does not depend on the temperature. info_nce: 512 queries "
                    "against 512 keys")}
    for key in ("nt_xent", "info_nce"):
        if key in by_key:
            ms = by_key[key]["lossbook_ms"]
            out[f"{key}_ms"] = ms
            out[f"{key}_speedup"] = pml_ms / ms
    speeds = [out[k] for k in ("nt_xent_speedup", "info_nce_speedup") if k in out]
    out["met"] = all(s >= out["target"] for s in speeds)
    return out


def print_table(result: dict[str, Any]) -> None:
    from tabulate import tabulate

    table = []
    for r in result["rows"]:
        agree = r["agreement"]
        table.append([r["key"], r["group"], r["size"], f"{r['lossbook_ms']:.3g}",
                      f"{r['reference_ms']:.3g}", f"{r['ratio']:.2f}",
                      _mib(r.get("lossbook_peak_mib")), _mib(r.get("reference_peak_mib")),
                      "-" if agree is None else ("yes" if agree["agree"] else "NO"),
                      {True: "met", False: "MISSED", None: "-"}[r["met"]]])
    print(tabulate(table, headers=["loss", "group", "size", "lossbook ms", "ref ms", "ratio",
                                   "lb MiB", "ref MiB", "agree", "target"]))
    print()
    print(tabulate([[s["group"], s["rows"], f"{s['median_ratio']:.2f}", s["target"] or "-",
                     {True: "met", False: "MISSED", None: "-"}[s["met"]]]
                    for s in result["summary"]],
                   headers=["group", "rows", "median ratio", "target", ""]))
    sp = result.get("speedup_vs_pml_ntxent")
    if sp:
        print(f"\nPML NTXentLoss {sp['pml_ntxent_ms']:.0f} ms; "
              + "; ".join(f"{k} {sp[k + '_ms']:.2f} ms ({sp[k + '_speedup']:.0f}x)"
                          for k in ("nt_xent", "info_nce") if k + "_ms" in sp))
    for row in result["chunked"]["rows"]:
        if row.get("skipped"):
            print(f"chunked {row['loss']}: skipped ({row['note']})")
        else:
            print(f"chunked {row['loss']} ({row['embeddings']:,} embeddings, chunk "
                  f"{row['chunk_size']}): {_mib(row['chunked_peak_mib'])} MiB vs unchunked "
                  f"{_mib(row['unchunked_peak_mib'])} MiB"
                  f"{'' if row['unchunked_measured'] else ' (estimated)'}; "
                  f"|value diff| {row['value_abs_diff']:.2g}, "
                  f"|grad diff| {row['grad_max_abs_diff']:.2g}")


def _mib(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "losses.json")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, short runs (tests)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="only these losses (lossbook names or row keys)")
    parser.add_argument("--no-chunked", action="store_true", help="skip the chunked section")
    parser.add_argument("--memory-worker", nargs="+", metavar="JOB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        return memory_worker_main(args.memory_worker, args.quick, args.threads)

    torch.set_num_threads(args.threads)
    selected = [c for c in CASES.values()
                if not args.only or c.key in args.only or c.loss in args.only]
    if args.only and not selected:
        parser.error(f"no loss matches {args.only}; known: {', '.join(CASES)}")
    started = time.perf_counter()
    info = machine(args.threads)
    rows = []
    for case in selected:
        t0 = time.perf_counter()
        timing = time_case(case, args.quick, args.threads)
        target = R.GROUPS[case.group]
        rows.append({
            "key": case.key, "loss": case.loss,
            "variant": case.key.split("[")[1].rstrip("]") if "[" in case.key else None,
            "group": case.group, "reference": case.reference,
            "reference_file": case.reference_file,
            "sizes": case.quick if args.quick else case.sizes,
            "size": size_text(case.quick if args.quick else case.sizes), "dtype": "float32",
            **timing, "agreement": agreement(case), "target": target,
            "met": None if target is None else timing["ratio"] <= target, "note": case.note})
        print(f"{case.key}: {timing['ratio']:.2f} ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr, flush=True)
    # memory: one fresh worker per group (the heavy PML NTXentLoss on its own); --quick runs
    # everything, the chunked jobs included, in one worker (a fresh interpreter costs seconds)
    batches: dict[str, list[str]] = {}
    for case in selected:
        group = "heavy" if (case.key == "nt_xent" and not args.quick) else case.group
        batches.setdefault("all" if args.quick else group, []).append(case.key)
    quick_chunked = args.quick and not args.no_chunked
    if quick_chunked:
        batches.setdefault("all", []).extend(chunked_jobs(quick=True))
    memory: dict[str, Any] = {}
    for jobs in batches.values():
        memory.update(run_memory_worker(jobs, args.quick, args.threads))
    for key, res in memory.items():
        if key not in CASES:
            continue  # a chunked job
        row = next(r for r in rows if r["key"] == key)
        row["lossbook_peak_mib"] = res.get("lossbook_peak_mib")
        row["reference_peak_mib"] = res.get("reference_peak_mib")
        if "error" in res:
            row["memory_error"] = res["error"]
    print(f"memory done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    chunked = ({"rows": [], "note": "skipped (--no-chunked)"} if args.no_chunked
               else chunked_section(args.quick, args.threads,
                                    memory if quick_chunked else None))
    result = {
        "machine": info, "quick": args.quick,
        "method": {
            "time": ("median of forward + backward run times, torch.utils.benchmark.Timer."
                     "blocked_autorange, lossbook and reference interleaved; a side slower "
                     f"than {SLOW_S:g} s per call is timed once (time.perf_counter), after "
                     "a warm-up on small inputs"),
            "memory": ("peak VmHWM minus VmRSS around one forward + backward after a warm-up, "
                       "in a fresh process with MALLOC_MMAP_THRESHOLD_=4096"),
            "agreement": "max |difference| of value and gradients, float64, small inputs"},
        "skipped": R.SKIPPED, "rows": rows, "summary": summarise(rows),
        "speedup_vs_pml_ntxent": speedup(rows), "chunked": chunked,
        "total_seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    print(f"\nwritten to {args.out} in {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
