"""One call at the top of every notebook: seed everything, pick a device, say where we run.

Also the helpers every chapter uses, written once here (as d2l collects its ``#@save``
functions into a package) and imported by the chapters: :func:`tensor` and :func:`to_numpy`,
which move data between NumPy and torch; :func:`train`, the training loop; :func:`progress`,
the progress bar of the notebooks' long loops; and :func:`glue`, which hands a computed number
to the book's prose so that no number is typed by hand.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Environment", "glue", "pick_device", "progress", "setup", "tensor", "to_numpy",
           "train"]

ProbeT = TypeVar("ProbeT")  # what train()'s probe returns

_chosen_device: str | None = None  # the device of the last setup() call: tensor()'s default


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
    float32 precision (the exercises' tolerances assume it). The device chosen here is where
    :func:`tensor` puts its tensors unless told otherwise.

    Example:
        >>> env = setup(seed=1, device="cpu", verbose=False)
        >>> env.device, env.seed
        ('cpu', 1)
    """
    import lossbook

    global _chosen_device
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)  # for third-party code that still uses the global generator
    torch_version = None
    try:
        import torch
    except ImportError:
        have_torch = False
    else:
        have_torch = True
    dev = pick_device(device)
    _chosen_device = dev
    if have_torch:
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


def tensor(values: torch.Tensor | np.ndarray | Sequence[object] | float,
           dtype: torch.dtype | None = None, *,
           device: str | torch.device | None = None) -> torch.Tensor:
    """``values`` (a list, a NumPy array, a tensor) as a torch tensor on the notebook's device.

    ``torch.as_tensor(values, dtype=dtype, device=device)`` with the chapters' two defaults:
    ``dtype`` float32, the precision models train in and one that every device has (Apple's
    MPS has no float64); ``device`` the one :func:`setup` chose (:func:`pick_device`'s choice
    if ``setup`` has not been called). Like ``torch.as_tensor`` it copies only when it must.

    Args:
        values: the data.
        dtype: the torch dtype; ``None`` for float32. Class indices want ``torch.long``.
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``; ``None`` for the
            notebook's device.

    Returns:
        A tensor of that dtype on that device.

    Example:
        >>> import torch
        >>> x = tensor([1, 2, 3], device="cpu")
        >>> x.dtype, x.device.type
        (torch.float32, 'cpu')
        >>> tensor([[2, 0]], torch.long, device="cpu")
        tensor([[2, 0]])
    """
    import torch

    return torch.as_tensor(values, dtype=torch.float32 if dtype is None else dtype,
                           device=_default_device() if device is None else device)


def _default_device() -> str:
    return _chosen_device if _chosen_device is not None else pick_device()


def to_numpy(values: torch.Tensor | np.ndarray | Sequence[object] | float) -> np.ndarray:
    """``values`` as a NumPy array, for printing, plotting and scikit-learn.

    A tensor is detached from autograd (NumPy cannot hold its gradient history) and copied to
    the CPU if it is on a GPU: ``values.detach().cpu().numpy()``. Anything else goes through
    ``np.asarray``. For a tensor on the CPU the result shares its memory with the tensor.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.5, -2.0], requires_grad=True)
        >>> to_numpy(2 * w)
        array([ 3., -4.], dtype=float32)
    """
    torch_module = sys.modules.get("torch")  # no tensor without torch: never import it here
    if torch_module is not None and isinstance(values, torch_module.Tensor):
        return cast("torch.Tensor", values).detach().cpu().numpy()
    return np.asarray(values)


# --------------------------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------------------------

_SCHEDULES = ("cosine", "linear")


def train(params: Iterable[torch.Tensor], loss_fn: Callable[[], torch.Tensor], *, steps: int,
          lr: float | None = None,
          optimizer: str | Callable[[list[torch.Tensor]], torch.optim.Optimizer] = "adam",
          schedule: str | None = None, every: int | None = None,
          probe: Callable[[], ProbeT] | None = None,
          desc: str | None = None) -> list[tuple[int, ProbeT]]:
    """Minimise ``loss_fn()`` over ``params`` by gradient descent: the training loop, once.

    Each of the ``steps`` steps clears the gradients, calls ``loss_fn()`` (which computes the
    loss of the current parameters, on the whole data or on a batch it draws), backpropagates
    and lets the optimizer update ``params``::

        optimizer.zero_grad(); loss = loss_fn(); loss.backward(); optimizer.step()

    written as ``optimizer.step(closure)``, the form every torch optimizer accepts, so that
    L-BFGS, which evaluates the loss several times per step, works too. Nothing here is random:
    seed the model's initial weights and any batch sampling yourself (a ``torch.Generator`` on
    the CPU gives the same batches on every device), and two runs are identical.

    Args:
        params: the tensors to learn (``model.parameters()``, or leaf tensors with
            ``requires_grad=True``).
        loss_fn: a function of no arguments that returns the scalar loss tensor.
        steps: the number of optimizer steps.
        lr: the learning rate of ``"adam"`` or ``"sgd"``; ``None`` for torch's default.
        optimizer: ``"adam"`` (``torch.optim.Adam``), ``"sgd"`` (plain gradient descent,
            ``torch.optim.SGD``), or a function that builds an optimizer from the list of
            parameters, such as ``functools.partial(torch.optim.LBFGS, max_iter=100)`` (then
            ``lr`` is set there, not here). One step of L-BFGS runs up to ``max_iter``
            iterations: ``steps=1`` is usually what you want.
        schedule: ``None`` (a constant learning rate), ``"cosine"`` (it decays to 0 along a
            half cosine, ``CosineAnnealingLR``) or ``"linear"`` (to 0 along a straight line).
        every: record ``probe()`` every ``every`` steps (and before the first and after the
            last); ``None``: before the first and after the last only.
        probe: a function of no arguments, called without gradient tracking, whose result is
            recorded: a metric on held-out data, the weights, a training loss.
        desc: the label of a progress bar (:func:`progress`, cleared when done); ``None``
            shows none.

    Returns:
        The records, a list of ``(step, probe())`` pairs, ``step`` being the number of
        updates made before that call of ``probe``. Empty without ``probe``.

    Raises:
        ValueError: if ``steps``, ``every``, ``optimizer`` or ``schedule`` is not one of the
            values above, or ``lr`` is given with an optimizer function.

    Example:
        A convex loss, :math:`(w - 3)^2`, minimised by plain gradient descent:

        >>> import torch
        >>> w = torch.zeros(1, requires_grad=True)
        >>> history = train([w], lambda: ((w - 3) ** 2).sum(), steps=50, optimizer="sgd",
        ...                 lr=0.1, every=25, probe=lambda: round(w.item(), 4))
        >>> history
        [(0, 0.0), (25, 2.9887), (50, 3.0)]
    """
    import torch

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                              or every < 1):
        raise ValueError(f"every must be a positive integer or None; got {every!r}")
    if schedule is not None and schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be None, 'cosine' or 'linear'; got {schedule!r}")
    params = list(params)
    opt: torch.optim.Optimizer
    if isinstance(optimizer, str):
        named = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}.get(optimizer)
        if named is None:
            raise ValueError("optimizer must be 'adam', 'sgd' or a function that builds a "
                             f"torch optimizer; got {optimizer!r}")
        opt = named(params) if lr is None else named(params, lr=lr)
    else:
        if lr is not None:
            raise ValueError("lr goes into the optimizer function, not into train(); got "
                             f"lr={lr!r} with optimizer={optimizer!r}")
        opt = optimizer(params)
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    elif schedule == "linear":
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / max(steps, 1))

    # torch annotates a closure as returning a float; every optimizer takes the loss tensor
    def closure() -> float:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss  # type: ignore[return-value]

    history: list[tuple[int, ProbeT]] = []

    def record(step: int) -> None:
        if probe is not None:
            with torch.no_grad():
                history.append((step, probe()))

    for step in (range(steps) if desc is None
                 else progress(range(steps), desc=desc, leave=False)):
        if step == 0 or (every is not None and step % every == 0):
            record(step)
        opt.step(closure)
        if scheduler is not None:
            scheduler.step()
    record(steps)
    return history


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the book's ``{glue:text}`` roles; return ``value``.

    In the book build (myst-nb), the prose writes ``{glue:text}`name:.3f``` and the number
    shown is the one this cell computed, so a change of data, seed or library changes the text
    with it. Nothing is displayed in the notebook. Where myst-nb is not installed (Colab, a
    student's venv) the call records nothing and only returns ``value``.

    Example:
        >>> glue("answer", 42)
        42
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier (a glue key); got {name!r}")
    if importlib.util.find_spec("myst_nb") is None:
        return value
    from myst_nb import glue as _myst_glue

    shown = value
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        shown = value.item()  # NumPy / torch scalars: the role formats Python numbers only
    _myst_glue(name, shown, display=False)
    return value


# --------------------------------------------------------------------------------------------
# Progress bars
# --------------------------------------------------------------------------------------------

_PROGRESS_ENV = "LOSSBOOK_PROGRESS"
_MODES = {"auto": "auto", "1": "auto", "on": "auto", "true": "auto", "yes": "auto",
          "widget": "widget", "text": "text",
          "off": "off", "0": "off", "false": "off", "no": "off", "none": "off"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # tqdm's cursor moves between nested bars


def progress(iterable: Iterable[Any] | None = None, *, total: int | None = None,
             desc: str | None = None, leave: bool = True, mode: str | None = None,
             **kwargs: Any) -> Iterable[Any]:
    """Wrap ``iterable`` in a progress bar that never writes to stderr and never warns.

    The same call has to behave in three places: in Colab or Jupyter Lab a student should see
    a live bar; in the book build (myst-nb executes every page and fails on any output to
    stderr) and under ``nbgrader autograde`` (which scores a test cell that writes to stderr
    zero) nobody watches, and the saved output must stay clean. Plain ``tqdm`` writes to
    stderr; ``tqdm.auto`` warns where ipywidgets is missing and, in a kernel that nobody
    watches, saves a widget that the static site can only draw with scripts fetched from the
    network. So the bar is chosen here:

    * ``"widget"``: ``tqdm.auto``'s ipywidgets bar. Chosen automatically when the code runs in
      a Jupyter kernel, ipywidgets is installed, and a front end that shows widgets is
      attached: Colab, a kernel started by Jupyter Lab or Notebook (which sets
      ``JPY_SESSION_NAME``), or VS Code.
    * ``"text"``: tqdm's text bar. In any other kernel (the book build, nbgrader, ``jupyter
      nbconvert --execute``) it is one display output that is updated in place, so the saved
      notebook holds only the final line of the bar: no carriage returns, no widget without
      its state, nothing on stderr. Outside a kernel (a script, a terminal) it is written to
      stdout.
    * ``"off"``: no bar and no output at all; the iterable is passed through.

    The environment variable ``LOSSBOOK_PROGRESS`` (``auto``, ``widget``, ``text``, ``off``
    or ``0``) overrides the automatic choice, and the ``mode`` argument overrides both.
    ``"widget"`` falls back to ``"text"`` where no widget can be shown. Without tqdm
    installed every mode is ``"off"``.

    Args:
        iterable: what to loop over; ``None`` for a bar updated by hand with ``update(n)``.
        total: the number of items, when ``len(iterable)`` does not give it.
        desc: a short label shown before the bar.
        leave: keep the finished bar (``True``) or clear it (``False``, for a function that
            is called many times, such as one that the tests call repeatedly).
        mode: ``"auto"``, ``"widget"``, ``"text"`` or ``"off"``; ``None`` reads
            ``LOSSBOOK_PROGRESS``.
        **kwargs: passed on to tqdm (``unit``, ``mininterval``, ...), except ``file``:
            the bar picks its own output, and it is never stderr.

    Returns:
        A tqdm bar (or, with ``"off"``, an object with the same basic methods): iterate over
        it, or call ``update``, ``set_postfix``, ``set_description`` and ``close`` on it.

    Raises:
        ValueError: if ``mode`` or ``LOSSBOOK_PROGRESS`` is not one of the modes above.
        TypeError: if ``file`` is given.

    Example:
        >>> [step for step in progress(range(3), desc="steps", mode="off")]
        [0, 1, 2]
    """
    if "file" in kwargs:
        raise TypeError("progress() chooses its own output (never stderr); do not pass file")
    chosen = _progress_mode(mode)
    if chosen == "widget":
        bar = _widget_bar(iterable, total=total, desc=desc, leave=leave, **kwargs)
        if bar is not None:
            return bar
        chosen = "text"
    if chosen == "text":
        bar = _text_bar(iterable, total=total, desc=desc, leave=leave, **kwargs)
        if bar is not None:
            return bar
    return _NoBar(iterable, total=total)


def _progress_mode(mode: str | None) -> str:
    """Resolve ``mode`` (or ``LOSSBOOK_PROGRESS``) to ``"widget"``, ``"text"`` or ``"off"``."""
    source = "mode" if mode is not None else _PROGRESS_ENV
    raw = mode if mode is not None else (os.environ.get(_PROGRESS_ENV) or "auto")
    value = _MODES.get(str(raw).strip().lower())
    if value is None:
        raise ValueError(f"{source} must be 'auto', 'widget', 'text' or 'off' (or 0); got {raw!r}")
    if value == "auto":
        return "widget" if _widget_frontend() else "text"
    return value


def _kernel_shell() -> Any:
    """The IPython shell of a Jupyter kernel we are running in, or ``None``."""
    ipython = sys.modules.get("IPython")  # never import IPython just to ask
    if ipython is None or "ipykernel" not in sys.modules:
        return None
    shell = ipython.get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _widget_frontend() -> bool:
    """True in a kernel with ipywidgets whose front end is known to draw widgets."""
    shell = _kernel_shell()
    if shell is None or importlib.util.find_spec("ipywidgets") is None:
        return False
    return ("google.colab" in sys.modules                 # Colab
            or bool(os.environ.get("JPY_SESSION_NAME"))   # Jupyter Lab / Notebook
            or "__vsc_ipynb_file__" in shell.user_ns)     # VS Code


def _widget_bar(iterable: Iterable[Any] | None, **kwargs: Any) -> Any:
    """tqdm.auto's widget bar, or ``None`` where it cannot be shown."""
    if _kernel_shell() is None:
        return None
    try:
        with warnings.catch_warnings():
            # tqdm.auto warns where ipywidgets is missing (and says "experimental" otherwise)
            warnings.simplefilter("ignore")
            import ipywidgets  # noqa: F401
            from tqdm.auto import tqdm as auto_tqdm
    except ImportError:
        return None

    class _Bar(auto_tqdm):  # type: ignore[misc]
        monitor_interval = 0  # no monitor thread: it can warn from the background

    # tqdm.auto falls back to the text bar in consoles such as qtconsole: keep that off stderr
    return _Bar(iterable, file=sys.stdout, **kwargs)


def _text_bar(iterable: Iterable[Any] | None, **kwargs: Any) -> Any:
    """tqdm's text bar on an updated display (in a kernel) or on stdout, or ``None``."""
    try:
        from tqdm.std import tqdm as std_tqdm
    except ImportError:
        return None

    class _Bar(std_tqdm):  # type: ignore[misc]
        monitor_interval = 0

    if _kernel_shell() is None:
        return _Bar(iterable, file=sys.stdout, **kwargs)
    kwargs.setdefault("ncols", 80)
    kwargs.setdefault("position", 0)  # each bar has its own display: no cursor moves
    return _Bar(iterable, file=_DisplayLine(), **kwargs)


class _DisplayLine:
    """A file for tqdm that shows its current line as one display output, updated in place.

    In a notebook, text written to stdout is appended to the cell's output; a bar redrawn with
    carriage returns leaves every intermediate state in the saved notebook. A display output
    with a ``display_id`` is replaced instead (live in every Jupyter front end, and in the
    saved file when nbclient, myst-nb or nbgrader execute the notebook).
    """

    encoding = "utf-8"  # tqdm draws the unicode bar when the file says it can

    def __init__(self) -> None:
        self._line = ""
        self._shown: str | None = None
        self._handle: Any = None

    def write(self, text: str) -> int:
        if "\r" in text:
            self._line = text.rsplit("\r", 1)[1]
        else:
            self._line += text
        line = _ANSI.sub("", self._line).replace("\n", "").rstrip()
        if line != self._shown and (self._handle is not None or line):
            from IPython.display import display

            data = {"text/plain": line}
            if not line:  # cleared (leave=False): empty HTML shows nothing, not an empty box
                data["text/html"] = ""
            if self._handle is None:
                self._handle = display(data, raw=True, display_id=True)
            else:
                self._handle.update(data, raw=True)
            self._shown = line
        return len(text)

    def flush(self) -> None:
        pass


class _NoBar:
    """What :func:`progress` returns when there is no bar: the iterable, and no-op methods."""

    def __init__(self, iterable: Iterable[Any] | None, total: int | None = None) -> None:
        self.iterable = iterable
        self.total = total
        self.n = 0

    def __iter__(self) -> Any:
        if self.iterable is None:
            raise TypeError("this progress bar has no iterable; call update(n) instead")
        for item in self.iterable:
            yield item
            self.n += 1

    def __len__(self) -> int:
        return len(self.iterable) if self.total is None else self.total  # type: ignore[arg-type]

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n  # type: ignore[assignment]

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass
