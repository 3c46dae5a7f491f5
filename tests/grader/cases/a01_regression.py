"""Expectations of the grading suites for assignment 01-regression.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "01-regression"
NOTEBOOK = "regression-losses.ipynb"
TRAINING: set[str] = set()

PARTIAL = (
    ["huber_loss", "log_cosh_stable", "coverage"],
    {"test_huber_loss": 3, "test_huber_gradient": 0, "test_smooth_l1_loss": 0,
     "test_smooth_l1_gradient": 0, "test_log_cosh_stable": 4, "test_fit_line": 0,
     "written_outliers": 0, "test_coverage": 2, "test_prediction_interval": 0,
     "test_relative_mse": 0},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
    "lb_paths": {
        "huber_loss": ("""\
import lossbook.regression as m

def huber_loss(y_pred, y_true, delta=1.0):
    return float(m.huber(np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float), delta=delta))
""", BAN),
        "huber_gradient": ("""\
from lossbook import huber_grad as g

def huber_gradient(y_pred, y_true, delta=1.0):
    return g(np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float), delta=delta)
""", BAN),
        "smooth_l1_loss": ("""\
import lossbook.regression as m

def smooth_l1_loss(y_pred, y_true, beta=1.0):
    p, t = np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float)
    if beta == 0:
        return float(m.mae(p, t))
    return float(m.smooth_l1(p, t, beta=beta))  # a negative beta: lossbook's ValueError names it
""", BAN),
        "smooth_l1_gradient": ("""\
import importlib

def smooth_l1_gradient(y_pred, y_true, beta=1.0):
    reg = importlib.import_module("lossbook." + "regression")
    p, t = np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float)
    if beta == 0:
        return reg.mae_grad(p, t)
    with np.errstate(over="ignore"):  # lossbook divides by beta before it clips: 1e300 / 1e-12
        return reg.smooth_l1_grad(p, t, beta=beta)
""", BAN),
        "log_cosh_stable": ("""\
import importlib
reg = importlib.import_module("lossbook." + "regression")

def log_cosh_stable(r):
    r = np.asarray(r, dtype=float)
    return reg.log_cosh(r, np.zeros_like(r), reduction="none")
""", BAN),
    },
    "lb_paths2": {
        "huber_loss": ("""\
import sys

def huber_loss(y_pred, y_true, delta=1.0):
    reg = sys.modules["lossbook.regression"]
    return float(reg.huber(np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float), delta=delta))
""", BAN),
        "huber_gradient": ("""\
def huber_gradient(y_pred, y_true, delta=1.0):
    p, t = np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float)
    try:
        return lb.huber_grad(p, t, delta=delta)
    except Exception:  # not allowed in the grader? then my own
        r = p - t
        return np.clip(r, -delta, delta) / r.size
""", BAN),
        "log_cosh_stable": ("""\
def log_cosh_stable(r):
    a = np.abs(np.asarray(r, dtype=float))
    return a + lb._backend.NUMPY.softplus(-2.0 * a) - np.log(2.0)
""", BAN),
    },
    "twins": {
        "huber_loss": ("""\
import torch
import torch.nn.functional as F

def huber_loss(y_pred, y_true, delta=1.0):
    p = torch.as_tensor(np.asarray(y_pred, dtype=float))
    t = torch.as_tensor(np.asarray(y_true, dtype=float)).expand_as(p)
    return float(F.huber_loss(p, t, delta=delta))
""", BAN),
        "huber_gradient": ("""\
import torch

def huber_gradient(y_pred, y_true, delta=1.0):
    p = torch.tensor(np.asarray(y_pred, dtype=float), requires_grad=True)
    r = p - torch.as_tensor(np.asarray(y_true, dtype=float))
    a = r.abs()
    loss = torch.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)).mean()
    (grad,) = torch.autograd.grad(loss, p)
    return grad.numpy()
""", BAN),
        "smooth_l1_loss": ("""\
import torch
import torch.nn.functional as F

def smooth_l1_loss(y_pred, y_true, beta=1.0):
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    p = torch.as_tensor(np.asarray(y_pred, dtype=float))
    t = torch.as_tensor(np.asarray(y_true, dtype=float)).expand_as(p)
    return F.smooth_l1_loss(p, t, beta=beta).item()
""", BAN),
        "smooth_l1_gradient": ("""\
import torch
import torch.nn.functional as F

def smooth_l1_gradient(y_pred, y_true, beta=1.0):
    p = torch.tensor(np.asarray(y_pred, dtype=float), requires_grad=True)
    F.smooth_l1_loss(p, torch.as_tensor(np.asarray(y_true, dtype=float)), beta=beta).backward()
    return p.grad.numpy()
""", BAN),
        "log_cosh_stable": ("""\
from scipy.special import logsumexp

def log_cosh_stable(r):
    r = np.asarray(r, dtype=float)
    return logsumexp(np.stack([r, -r]), axis=0) - np.log(2.0)
""", BAN),
        "prediction_interval": ("""\
from sklearn.linear_model import QuantileRegressor

def prediction_interval(x_train, y_train, x_new, *, level=0.9, lr=0.05, steps=2000):
    X = np.asarray(x_train, dtype=float).reshape(-1, 1)
    new = np.asarray(x_new, dtype=float).reshape(-1, 1)
    tail = (1.0 - level) / 2.0
    lo = QuantileRegressor(quantile=tail, alpha=0.0, solver="highs").fit(X, y_train).predict(new)
    hi = QuantileRegressor(quantile=1 - tail, alpha=0.0, solver="highs").fit(X, y_train).predict(new)
    return lo, hi
""", OTHER),
    },
    "answers": {
        "prediction_interval": ("""\
from lossbook.datasets import true_quantile_heteroscedastic

def prediction_interval(x_train, y_train, x_new, *, level=0.9, lr=0.05, steps=2000):
    tail = (1.0 - level) / 2.0
    x_new = np.asarray(x_new, dtype=float)
    return true_quantile_heteroscedastic(x_new, tail), true_quantile_heteroscedastic(x_new, 1 - tail)
""", OTHER),
    },
    "oracle": {
        "huber_loss": ("""\
def huber_loss(y_pred, y_true, delta=1.0):
    r = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    a = np.abs(r)
    loss = np.where(a <= delta, 0.5 * r**2, delta * a - 0.5)  # right only at delta = 1
    if delta != 1.0 and np.any(a > delta):
        found = globals().get("expected")  # the hidden test's own answer, if in reach
        if found is not None:
            return float(found)
    return float(np.mean(loss))
""", BAN),
    },
    "ufuncs": {
        "huber_loss": ("""\
from scipy.special import huber as _huber  # a NumPy ufunc, not a Python function

def huber_loss(y_pred, y_true, delta=1.0):
    r = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return float(np.mean(_huber(delta, r)))
""", BAN),
    },
}
