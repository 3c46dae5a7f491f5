"""The loss benchmark (bench/losses.py) and its references (bench/references.py).

No timing is asserted (timings depend on the machine); these tests check that the benchmark
covers every loss, that its numbers are consistent, that the references it calls equal
lossbook where the formulas agree, and that the numerical failures the Performance page shows
(book/performance.ipynb) are real.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

import lossbook as lb

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import losses as bench_losses  # noqa: E402
from bench import references as R  # noqa: E402

pytestmark = pytest.mark.xdist_group("bench")

F64 = torch.float64


# ------------------------------------------------------------------- the --quick benchmark run
@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "losses.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "losses.py"), "--quick",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_loss_has_a_row(quick):
    losses = {name for name in lb.__all__ if name not in R.SKIPPED}
    rows = {row["loss"] for row in quick["rows"]}
    assert losses - rows == set(), f"losses without a benchmark row: {losses - rows}"
    assert rows <= set(lb.__all__)
    assert {"batch_all", "batch_hard"} <= {r["variant"] for r in quick["rows"]}


def test_skipped_names_exist():
    """The skip list cannot hide a typo: every skipped name is a public lossbook name."""
    assert set(R.SKIPPED) <= set(lb.__all__)


def test_ratio_is_lossbook_over_reference_and_targets_follow(quick):
    for row in quick["rows"]:
        assert row["lossbook_ms"] > 0 and row["reference_ms"] > 0, row["key"]
        assert row["ratio"] == pytest.approx(row["lossbook_ms"] / row["reference_ms"]), row["key"]
        assert row["target"] == R.GROUPS[row["group"]], row["key"]
        expected = None if row["target"] is None else row["ratio"] <= row["target"]
        assert row["met"] is expected, row["key"]
    groups = {s["group"]: s for s in quick["summary"]}
    assert set(groups) == {r["group"] for r in quick["rows"]}
    for group, summary in groups.items():
        ratios = [r["ratio"] for r in quick["rows"] if r["group"] == group]
        assert summary["median_ratio"] == pytest.approx(statistics.median(ratios))
        if summary["target"] is not None:
            assert summary["met"] is (summary["median_ratio"] <= summary["target"])


def test_peak_memory_is_measured_for_both_sides(quick):
    for row in quick["rows"]:
        for side in ("lossbook_peak_mib", "reference_peak_mib"):
            value = row.get(side)
            assert isinstance(value, float) and value > 0, (row["key"], side, value,
                                                            row.get("memory_error"))


def test_rows_with_the_same_formula_agree(quick):
    checked = 0
    for row in quick["rows"]:
        agreement = row["agreement"]
        if row["key"] == "contrastive_loss":
            assert agreement is None  # PML's formula differs: a time-only row
            continue
        assert agreement is not None, row["key"]
        assert agreement["agree"], (row["key"], agreement)
        assert agreement["value_abs_diff"] <= agreement["tolerance"]
        assert agreement["grad_max_abs_diff"] <= agreement["tolerance"]
        checked += 1
    assert checked >= 30


def test_machine_block(quick):
    m = quick["machine"]
    for key in ("cpu", "cores", "threads", "ram_gib", "torch", "numpy", "python",
                "pytorch_metric_learning", "platform", "date_utc"):
        assert m.get(key) not in (None, ""), key
    assert m["threads"] == 1


def test_speedup_block(quick):
    s = quick["speedup_vs_pml_ntxent"]
    assert s["nt_xent_speedup"] == pytest.approx(s["pml_ntxent_ms"] / s["nt_xent_ms"])
    assert s["info_nce_speedup"] == pytest.approx(s["pml_ntxent_ms"] / s["info_nce_ms"])


def test_chunked_memory_is_smaller_with_the_same_values(quick):
    rows = {r["loss"]: r for r in quick["chunked"]["rows"]}
    names = ["info_nce"] + (["nt_xent"] if bench_losses.has_chunk_size("nt_xent") else [])
    for name in names:
        row = rows[name]
        assert not row.get("skipped") and "error" not in row, row
        assert row["unchunked_measured"]
        # at the quick sizes the (2N, 2N) matrices are 16 MiB: chunks of 64 rows need a tenth
        assert row["chunked_peak_mib"] < 0.25 * row["unchunked_peak_mib"], row
        assert row["value_abs_diff"] <= 1e-5 and row["grad_max_abs_diff"] <= 1e-6, row


def test_only_selects_rows(tmp_path):
    out = tmp_path / "one.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "losses.py"), "--quick",
                           "--only", "mse", "--no-chunked", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["key"] for r in json.loads(out.read_text())["rows"]] == ["mse"]


# ------------------------------------------------- the references equal lossbook (float64)
@pytest.mark.parametrize("key", [k for k, c in bench_losses.CASES.items() if c.tol is not None])
def test_reference_equals_lossbook_in_float64(key):
    case = bench_losses.CASES[key]
    small = {k: (max(2, v // 8) if isinstance(v, int) and k not in ("classes",) else v)
             for k, v in case.quick.items()}
    results = []
    for fn in (case.ours, case.ref):
        torch.manual_seed(0)
        inputs = bench_losses.build(case, small, F64)
        value = fn(*inputs)
        value.backward()
        results.append((value.detach(), [x.grad for x in bench_losses._leaves(inputs)]))
    (v1, g1), (v2, g2) = results
    tol = case.tol * 10
    assert torch.allclose(v1, v2, rtol=0, atol=tol), (key, v1.item(), v2.item())
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, rtol=0, atol=tol), (key, (a - b).abs().max().item())


def test_pml_contrastive_loss_is_a_different_formula():
    """Why the contrastive row is time-only: PML's value differs from y d^2 + (1-y) max(m-d,0)^2."""
    case = bench_losses.CASES["contrastive_loss"]
    x1, x2, y = bench_losses.build(case, {"N": 64, "D": 16}, F64)
    assert abs(lb.contrastive_loss(x1, x2, y).item() - R.contrastive_loss(x1, x2, y).item()) > 1e-3


def test_allrank_references_follow_the_padding_convention():
    """A relevance of -1 marks padding in allRank; lossbook's mask gives the same losses."""
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(6, 9, generator=g, dtype=F64)
    mask = torch.ones(6, 9, dtype=torch.bool)
    mask[:, 6:] = False
    mask[0, 3:] = False
    graded = torch.randint(0, 4, (6, 9), generator=g).to(F64)
    distinct = torch.stack([torch.randperm(9, generator=g) for _ in range(6)]).to(F64)
    for ours, ref, rel in ((lb.listnet_loss, R.listnet_loss, graded),
                           (lb.listmle_loss, R.listmle_loss, distinct)):
        padded = torch.where(mask, rel, torch.tensor(-1.0, dtype=F64))
        assert ours(scores, torch.where(mask, rel, 0.0), mask=mask).item() == pytest.approx(
            ref(scores, padded).item(), abs=1e-7)
    # lambdaLoss sums over the batch: lossbook's mean times the number of queries with pairs
    padded = torch.where(mask, graded, torch.tensor(-1.0, dtype=F64))
    total = R.lambda_loss(scores, padded, reduction="sum", reduction_log="natural")
    ours = lb.lambdarank_loss(scores, torch.where(mask, graded, 0.0), mask=mask, reduction="sum")
    assert ours.item() == pytest.approx(total.item(), rel=1e-12)


def test_allrank_lambda_loss_with_a_cutoff_differs_from_lossbook():
    """The note of the lambdarank row: with k, allRank keeps only pairs inside the top k."""
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(4, 10, generator=g, dtype=F64)
    rel = torch.randint(0, 4, (4, 10), generator=g).to(F64)
    ours = lb.lambdarank_loss(scores, rel, k=3, reduction="sum").item()
    theirs = R.lambda_loss(scores, rel, k=3, reduction="sum", reduction_log="natural").item()
    assert ours > theirs + 1e-6


# ---------------------------------------------------- one registry of inputs, tests and bench
def test_every_row_draws_its_inputs_from_the_shared_registry(monkeypatch):
    """The benchmark declares no input maker of its own: each row's arrays come from
    lossbook.testing.INPUTS, the registry the library's tests use (tests/lossbook/registry.py)."""
    from lossbook.testing import INPUTS, Inputs

    used: list[str] = []
    for kind, entry in list(INPUTS.items()):
        def spy(*args, _kind=kind, _make=entry.make, **kwargs):
            used.append(_kind)
            return _make(*args, **kwargs)

        monkeypatch.setitem(INPUTS, kind, Inputs(spy, entry.extreme))
    for key, case in bench_losses.CASES.items():
        used.clear()
        inputs = bench_losses.build(case, case.quick, F64)
        assert used, f"{key}: inputs not drawn from lossbook.testing.INPUTS"
        assert bench_losses._leaves(inputs), key  # something to differentiate
        again = bench_losses.build(case, case.quick, F64)  # seeded: both sides see the same
        for a, b in zip(bench_losses._leaves(inputs), bench_losses._leaves(again)):
            assert torch.equal(a, b), key


def test_the_benchmark_reaches_nothing_in_tests():
    import ast

    for path in (ROOT / "bench").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in modules if m.split(".")[0] in ("tests", "registry", "conftest")}, path
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str)]
        assert not [v for v in strings if v.rstrip("/") == "tests" or v.startswith("tests/")], path


# ------------------------------------------ the numerics the Performance page shows, checked
def _value_and_grad(fn, x, *args, **kwargs):
    x = x.detach().clone().requires_grad_(True)
    value = fn(x, *args, **kwargs)
    value.backward()
    return value.detach(), x.grad


EXTREME_SCORES = torch.tensor([[1e4, -1e4, 0.0, -1e4]])  # the irrelevant item on top
EXTREME_RELEVANCE = torch.tensor([[0.0, 3.0, 1.0, 2.0]])


def test_allrank_listnet_saturates_with_zero_gradient():
    value, grad = _value_and_grad(R.listnet_loss, EXTREME_SCORES, EXTREME_RELEVANCE)
    assert torch.isfinite(value) and value.item() < 30  # -log(1e-10) = 23: the eps ceiling
    assert torch.all(grad == 0)  # nothing tells the model to move
    value, grad = _value_and_grad(lb.listnet_loss, EXTREME_SCORES, EXTREME_RELEVANCE)
    assert value.item() > 1e4 and torch.all(torch.isfinite(grad))
    assert grad[0, 0] > 0.5  # the top, irrelevant item is pushed down


def test_allrank_lambda_loss_gives_zero_gradient_to_the_worst_pairs():
    value, grad = _value_and_grad(R.lambdarank_loss, EXTREME_SCORES, EXTREME_RELEVANCE)
    assert torch.isfinite(value)
    assert grad[0, 0] == 0  # the irrelevant item ranked first gets no push at all
    value, grad = _value_and_grad(lb.lambdarank_loss, EXTREME_SCORES, EXTREME_RELEVANCE)
    assert torch.all(torch.isfinite(grad)) and grad[0, 0] > 0.1


def test_naive_focal_loss_with_small_gamma_has_nan_gradient():
    logits, labels = torch.tensor([20.0, -20.0, 5.0]), torch.tensor([1.0, 0.0, 1.0])
    _, grad = _value_and_grad(R.focal_loss, logits, labels, gamma=0.5)
    assert torch.isnan(grad[0]) and torch.isnan(grad[1])
    value, grad = _value_and_grad(lb.focal_loss, logits, labels, gamma=0.5)
    assert torch.isfinite(value) and torch.all(torch.isfinite(grad))


def test_naive_log_cosh_overflows():
    residual, zero = torch.tensor([1e4, -1e4, 3.0]), torch.zeros(3)
    value, grad = _value_and_grad(R.log_cosh, residual, zero)
    assert torch.isinf(value) and torch.isnan(grad[0])
    value, grad = _value_and_grad(lb.log_cosh, residual, zero)
    assert torch.isfinite(value) and torch.all(torch.isfinite(grad))
    assert grad[0].item() == pytest.approx(1 / 3)  # tanh(1e4) / 3 elements


# ----------------------------------------------------------------------------- dependencies
def test_benchmark_packages_are_not_dependencies_of_lossbook():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
             .lower().replace("_", "-") for d in project["dependencies"]]
    for package in ("pytorch-metric-learning", "sentence-transformers", "allrank", "torchvision",
                    "trl", "tabulate"):
        assert package not in names, f"{package} is a benchmark-only package"
