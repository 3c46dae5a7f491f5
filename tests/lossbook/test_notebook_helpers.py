"""lossbook.notebook.progress: a bar that never writes to stderr, in every place a notebook runs.

Three contexts matter, and each has a test here:
* a script or a terminal (no kernel): a text bar on stdout;
* a headless kernel, as the book build (myst-nb), nbgrader and ``jupyter nbconvert`` run them:
  one display output updated in place, so the saved notebook holds the final line only;
* a kernel with a front end that draws widgets (Colab, Jupyter Lab): tqdm.auto's widget.
The book build itself is checked by a one-page Sphinx build with the book's stderr rule.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from lossbook import notebook
from lossbook.notebook import progress

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _no_progress_env(monkeypatch):
    for name in ("LOSSBOOK_PROGRESS", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- mode resolution

@pytest.mark.parametrize(("value", "expected"), [
    ("0", "off"), ("off", "off"), ("OFF", "off"), ("false", "off"), ("text", "text"),
    ("widget", "widget"), (" Text ", "text"),
    # auto (an empty variable counts as unset): no kernel here, so the text bar
    ("auto", "text"), ("1", "text"), ("", "text"), ("loud", None),
])
def test_the_environment_variable_chooses_the_mode(monkeypatch, value, expected):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", value)
    if expected is None:
        with pytest.raises(ValueError, match=r"LOSSBOOK_PROGRESS must be .* got 'loud'"):
            notebook._progress_mode(None)
    else:
        assert notebook._progress_mode(None) == expected


def test_the_mode_argument_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "off")
    assert notebook._progress_mode("text") == "text"
    with pytest.raises(ValueError,
                       match=r"mode must be 'auto', 'widget', 'text' or 'off' .* got 'fancy'"):
        progress(range(3), mode="fancy")


def test_a_bad_environment_variable_fails_the_call(monkeypatch):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "loud")
    with pytest.raises(ValueError, match=r"LOSSBOOK_PROGRESS must be .* got 'loud'"):
        progress(range(3))


def test_file_cannot_be_chosen():
    with pytest.raises(TypeError, match="do not pass file"):
        progress(range(3), file=sys.stderr)


def test_outside_a_kernel_auto_never_picks_the_widget(monkeypatch):
    # even where a Jupyter server would have started us, no kernel means no widget
    monkeypatch.setenv("JPY_SESSION_NAME", "exercise.ipynb")
    assert notebook._progress_mode("auto") == "text"
    assert notebook._widget_bar(range(3)) is None


# --------------------------------------------------------------------------- no kernel

def test_text_bar_goes_to_stdout_and_never_warns(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = [i for i in progress(range(7), desc="fitting")]
        bar = progress(total=4, desc="by hand", mode="widget")  # no kernel: text instead
        bar.update(4)
        bar.close()
    assert seen == list(range(7))
    out, err = capsys.readouterr()
    assert err == ""
    assert not caught, [str(w.message) for w in caught]
    assert "fitting: 100%" in out and "7/7" in out
    assert "by hand: 100%" in out and "4/4" in out


@pytest.mark.parametrize("how", ["env", "argument"])
def test_off_prints_nothing_and_passes_items_through(capsys, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("LOSSBOOK_PROGRESS", "0")
    with progress(iter("abc"), total=3, desc="quiet", mode=None if how == "env" else "off") as bar:
        items = list(bar)
        bar.set_postfix(loss=0.5)
        bar.set_description("still quiet")
    assert items == ["a", "b", "c"] and bar.n == 3
    assert capsys.readouterr() == ("", "")


def test_without_tqdm_there_is_no_bar_and_no_warning(capsys, monkeypatch):
    for name in ("tqdm", "tqdm.std", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)  # import tqdm now raises ImportError
    bar = progress(range(4), desc="no tqdm", mode="text")
    assert isinstance(bar, notebook._NoBar)
    assert list(bar) == [0, 1, 2, 3] and len(bar) == 4
    hand = progress(total=2)
    hand.update(2)
    hand.close()
    with pytest.raises(TypeError, match="no iterable"):
        list(hand)
    assert capsys.readouterr() == ("", "")


def test_display_line_keeps_only_the_current_line(monkeypatch):
    shown = []

    class Handle:
        def update(self, data, raw):
            shown.append(data["text/plain"])

    def fake_display(data, raw, display_id):
        shown.append(data["text/plain"])
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    line = notebook._DisplayLine()
    line.write("")                          # tqdm's probe: nothing shown yet
    line.write("\r  0%|   | 0/2")
    line.write("\r 50%|#  | 1/2")
    line.write("\r 50%|#  | 1/2")           # unchanged: no update sent
    line.write("\n\x1b[A\r100%|## | 2/2   ")  # cursor moves and padding are dropped
    line.write("\n")
    assert shown == ["  0%|   | 0/2", " 50%|#  | 1/2", "100%|## | 2/2"]


# --------------------------------------------------------------------------- real kernels

def _run_in_kernel(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c))
                                         for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _stderr(nb):
    return [o.text for c in nb.cells for o in c.outputs
            if o.output_type == "stream" and o.name == "stderr"]


@pytest.mark.slow
def test_in_kernels_the_bar_is_a_display_or_a_widget_and_never_stderr():
    nb = _run_in_kernel([
        # 0. a headless kernel (book build, nbgrader): one display, final state only
        """
        import os, sys, time, warnings
        warnings.simplefilter("error")  # a warning would fail the cell
        from lossbook.notebook import progress
        for step in progress(range(40), desc="training"):
            time.sleep(0.01)
        """,
        # 1. leave=False: the finished bar is cleared
        """
        for step in progress(range(5), desc="inner", leave=False):
            pass
        print("after")
        """,
        # 2. a Jupyter server started this kernel: the widget
        """
        os.environ["JPY_SESSION_NAME"] = "exercise.ipynb"
        for step in progress(range(5), desc="widget"):
            pass
        """,
        # 3. ... but without ipywidgets: the text display, and no warning from tqdm.auto
        """
        sys.modules["ipywidgets"] = None
        for step in progress(range(5), desc="no widgets", mode="widget"):
            pass
        """,
        # 4. switched off
        """
        os.environ["LOSSBOOK_PROGRESS"] = "0"
        for step in progress(range(5), desc="off"):
            pass
        """,
    ])
    assert not _stderr(nb), _stderr(nb)
    for cell in nb.cells:
        streams = [o.text for o in cell.outputs if o.output_type == "stream"]
        assert not any("\r" in s for s in streams), streams

    (headless,) = nb.cells[0].outputs
    assert headless.output_type == "display_data" and WIDGET_VIEW not in headless.data
    assert headless.data["text/plain"].startswith("training: 100%")
    assert "40/40" in headless.data["text/plain"] and "\r" not in headless.data["text/plain"]

    cleared, after = nb.cells[1].outputs
    assert cleared.data == {"text/plain": "", "text/html": ""} and after.text == "after\n"

    (widget,) = nb.cells[2].outputs
    assert WIDGET_VIEW in widget.data

    (fallback,) = nb.cells[3].outputs
    assert WIDGET_VIEW not in fallback.data
    assert fallback.data["text/plain"].startswith("no widgets: 100%")

    assert nb.cells[4].outputs == []


@pytest.mark.slow
@pytest.mark.xdist_group("progress-book")
def test_a_page_with_a_bar_builds_under_the_books_stderr_rule(tmp_path):
    """A one-page Sphinx + myst-nb build with the book's settings (-W, stderr is a warning)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent("""
        project = "progress"
        extensions = ["myst_nb"]
        nb_execution_mode = "force"
        nb_execution_raise_on_error = True
        nb_output_stderr = "warn"
        exclude_patterns = ["_build"]
    """))
    (src / "index.md").write_text("# Progress\n\n```{toctree}\npage\n```\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A page that trains"),
        nbformat.v4.new_code_cell("from lossbook.notebook import progress\n"
                                  "for step in progress(range(25), desc='training'):\n"
                                  "    pass"),
        nbformat.v4.new_code_cell("for step in progress(range(5), desc='cleared', leave=False):\n"
                                  "    pass"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, src / "page.ipynb")
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "-q", "-b", "html",
                           str(src), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (out / "page.html").read_text()
    assert "training: 100%" in html and "25/25" in html
    assert WIDGET_VIEW not in html  # a widget without a live kernel shows nothing on the site
    assert "cleared:" not in html  # a bar with leave=False leaves nothing, not even an empty box
    assert not re.search(r"<pre>(<span></span>)?\s*</pre>", html)


# ----------------------------------------------------------------------------- glue
def test_glue_returns_the_value_and_records_python_numbers(monkeypatch):
    import numpy as np

    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.update(
        {name: (value, display)}))
    x = np.float64(1.5)
    assert notebook.glue("ratio", x) is x  # the caller keeps its own object
    value, display = seen["ratio"]
    assert type(value) is float and value == 1.5 and display is False


@pytest.mark.parametrize("name", ["", "two words", "1st", None])
def test_glue_refuses_a_name_the_roles_cannot_use(name):
    from lossbook.notebook import glue

    with pytest.raises(ValueError, match="name must be"):
        glue(name, 1.0)


# ------------------------------------------------------------------------- tensor, to_numpy
torch = pytest.importorskip("torch")


@pytest.fixture
def _restore_device():
    saved = notebook._chosen_device
    yield
    notebook._chosen_device = saved


def test_tensor_is_float32_on_the_device_setup_chose(_restore_device):
    notebook.setup(seed=0, device="cpu", verbose=False)
    t = notebook.tensor([[1, 2], [3, 4]])
    assert t.dtype == torch.float32 and t.device.type == "cpu" and t.shape == (2, 2)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]] and not t.requires_grad


def test_tensor_takes_a_dtype_positionally_or_by_name_and_a_device(_restore_device):
    notebook.setup(seed=0, device="cpu", verbose=False)
    assert notebook.tensor(np.array([0.5]), torch.float64).dtype == torch.float64
    assert notebook.tensor([1, 0], dtype=torch.long).dtype == torch.long
    assert notebook.tensor([True], torch.bool).dtype == torch.bool
    assert notebook.tensor([1.0], device=torch.device("cpu")).device.type == "cpu"


def test_tensor_follows_the_device_setup_chose_not_a_fresh_guess(monkeypatch, _restore_device):
    notebook.setup(seed=0, device="cpu", verbose=False)
    seen = {}

    def as_tensor(values, dtype, device):
        seen.update(dtype=dtype, device=device)
        return values

    monkeypatch.setattr(torch, "as_tensor", as_tensor)
    notebook.tensor([1.0])
    assert seen == {"dtype": torch.float32, "device": "cpu"}
    notebook._chosen_device = "cuda"  # as after setup() on a machine with a GPU
    notebook.tensor([1.0], torch.float64)
    assert seen == {"dtype": torch.float64, "device": "cuda"}
    notebook._chosen_device = None  # setup() not called: pick_device() decides
    monkeypatch.setenv("LOSSBOOK_DEVICE", "mps")
    notebook.tensor([1.0])
    assert seen["device"] == "mps"


def test_tensor_does_not_copy_a_tensor_that_is_already_right(_restore_device):
    notebook.setup(seed=0, device="cpu", verbose=False)
    x = torch.ones(3)
    assert notebook.tensor(x) is x
    assert notebook.tensor(x, torch.float64) is not x


def test_to_numpy_detaches_a_tensor_with_grad_and_keeps_its_dtype():
    w = torch.tensor([[1.5, -2.0]], requires_grad=True)
    y = (w * 3).sum(dim=0)  # part of an autograd graph
    out = notebook.to_numpy(y)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [4.5, -6.0])
    assert notebook.to_numpy(torch.arange(3)).dtype == np.int64
    leaf = notebook.to_numpy(w)
    leaf[0, 0] = 7.0  # on the CPU the array shares the tensor's memory, like Tensor.numpy()
    assert w[0, 0].item() == 7.0


def test_to_numpy_moves_a_tensor_to_the_cpu_first():
    calls = []

    class OnGpu(torch.Tensor):  # a CPU tensor that records the calls a CUDA one needs
        def detach(self):
            calls.append("detach")
            return super().detach()

        def cpu(self, *args, **kwargs):
            calls.append("cpu")
            return super().cpu(*args, **kwargs)

    t = torch.tensor([1.0, 2.0]).as_subclass(OnGpu)
    assert notebook.to_numpy(t).tolist() == [1.0, 2.0]
    assert calls[:2] == ["detach", "cpu"]


def test_to_numpy_passes_numpy_and_lists_through():
    a = np.arange(3.0)
    assert notebook.to_numpy(a) is a
    assert notebook.to_numpy([1, 2]).tolist() == [1, 2]
    assert notebook.to_numpy(2.5).shape == ()


# ---------------------------------------------------------------------------------- train
def _quadratic(seed=0, n=5):
    """A convex least-squares problem: loss(w) = mean((A w - b)^2), and its exact minimum."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(20, n, generator=g, dtype=torch.float64)
    b = torch.randn(20, generator=g, dtype=torch.float64)
    best = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    return a, b, best


@pytest.mark.parametrize(("optimizer", "lr", "schedule"), [
    ("sgd", 0.05, None), ("adam", 0.05, None), ("adam", 0.05, "cosine"), ("sgd", 0.05, "linear"),
])
def test_train_decreases_a_convex_loss_to_its_minimum(optimizer, lr, schedule):
    a, b, best = _quadratic()
    w = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)

    def loss():
        return ((a @ w - b) ** 2).mean()

    history = notebook.train([w], loss, steps=400, lr=lr, optimizer=optimizer, schedule=schedule,
                             every=50, probe=lambda: loss().item())
    values = [v for _, v in history]
    assert [s for s, _ in history] == list(range(0, 401, 50))
    # downhill all the way (up to rounding once at the bottom), and to the bottom
    assert all(later < earlier + 1e-12 for earlier, later in zip(values, values[1:])), values
    assert values[1] < 0.9 * values[0]
    minimum = ((a @ best - b) ** 2).mean().item()
    assert values[-1] - minimum < 1e-3 * values[0]
    assert w.requires_grad and w.grad is not None


def test_train_takes_the_steps_of_the_loop_it_replaces():
    """Plain SGD on a quadratic: w <- w - lr * grad, checked against the update written out."""
    a, b, _ = _quadratic(seed=1)
    w = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    notebook.train([w], lambda: ((a @ w - b) ** 2).mean(), steps=3, optimizer="sgd", lr=0.1)
    by_hand = torch.zeros(a.shape[1], dtype=torch.float64)
    for _ in range(3):
        by_hand = by_hand - 0.1 * 2 * a.T @ (a @ by_hand - b) / len(b)
    torch.testing.assert_close(w.detach(), by_hand, rtol=1e-12, atol=1e-14)


def test_train_is_reproducible_under_a_seed():
    X, y = torch.randn(64, 3, generator=torch.Generator().manual_seed(0)), torch.randn(64)

    def run(seed):
        torch.manual_seed(seed)
        model = torch.nn.Linear(3, 1)
        batches = torch.Generator().manual_seed(seed)

        def batch_loss():
            idx = torch.randint(0, 64, (8,), generator=batches)
            return ((model(X[idx])[:, 0] - y[idx]) ** 2).mean()

        notebook.train(model.parameters(), batch_loss, steps=30, lr=1e-2, desc="fit")
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_train_records_the_probe_at_the_start_every_few_steps_and_at_the_end():
    w = torch.zeros(1, requires_grad=True)
    count = [0]

    def loss():
        count[0] += 1
        return (w - 1).pow(2).sum()

    history = notebook.train([w], loss, steps=7, lr=0.1, every=3, probe=lambda: count[0])
    assert history == [(0, 0), (3, 3), (6, 6), (7, 7)]  # probe sees the updates made so far
    assert notebook.train([w], loss, steps=4, probe=lambda: 0) == [(0, 0), (4, 0)]
    assert notebook.train([w], loss, steps=4) == []
    assert notebook.train([w], loss, steps=0, probe=lambda: "start") == [(0, "start")]


def test_train_runs_the_probe_without_gradient_tracking():
    w = torch.ones(2, requires_grad=True)
    history = notebook.train([w], lambda: w.sum(), steps=1, probe=lambda: (w * 2).requires_grad)
    assert history == [(0, False), (1, False)]


def test_train_with_lbfgs_solves_least_squares():
    from functools import partial

    a, b, best = _quadratic(seed=2)
    w = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    lbfgs = partial(torch.optim.LBFGS, max_iter=100, tolerance_grad=1e-12, tolerance_change=1e-14,
                    line_search_fn="strong_wolfe")
    notebook.train([w], lambda: ((a @ w - b) ** 2).mean(), steps=1, optimizer=lbfgs)
    torch.testing.assert_close(w.detach(), best, rtol=1e-6, atol=1e-8)


def test_train_schedules_decay_the_learning_rate_to_zero():
    for schedule, halfway in (("cosine", 0.5), ("linear", 0.5)):
        w = torch.zeros(1, requires_grad=True)
        seen = []

        def make(params, seen=seen):
            opt = torch.optim.SGD(params, lr=2.0)
            seen.append(opt)
            return opt

        history = notebook.train([w], lambda: w.sum(), steps=10, optimizer=make,
                                 schedule=schedule, every=5,
                                 probe=lambda: seen[0].param_groups[0]["lr"])
        lrs = [lr for _, lr in history]
        assert lrs[0] == 2.0 and abs(lrs[1] - 2.0 * halfway) < 1e-12 and abs(lrs[2]) < 1e-12


def test_train_shows_a_progress_bar_only_with_a_label(capsys, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "text")
    w = torch.zeros(1, requires_grad=True)
    notebook.train([w], lambda: w.sum(), steps=3)
    assert capsys.readouterr() == ("", "")
    notebook.train([w], lambda: w.sum(), steps=3, desc="fitting")
    out, err = capsys.readouterr()
    assert "fitting" in out and err == ""


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": -1}, "steps must be a non-negative integer; got -1"),
    ({"steps": 2.5}, "steps must be a non-negative integer; got 2.5"),
    ({"steps": 3, "every": 0}, "every must be a positive integer or None; got 0"),
    ({"steps": 3, "schedule": "step"}, "schedule must be None, 'cosine' or 'linear'; got 'step'"),
    ({"steps": 3, "optimizer": "rmsprop"}, "optimizer must be 'adam', 'sgd' or a function"),
    ({"steps": 3, "optimizer": lambda p: torch.optim.SGD(p, lr=1.0), "lr": 0.1},
     "lr goes into the optimizer function"),
])
def test_train_rejects_bad_arguments_naming_them(kwargs, message):
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match=re.escape(message)):
        notebook.train([w], lambda: w.sum(), **kwargs)
