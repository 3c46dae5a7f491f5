"""Expectations of the grading suites for assignment 02-classification.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "02-classification"
NOTEBOOK = "classification-losses.ipynb"
TRAINING: set[str] = set()

PARTIAL = (
    ["log_softmax", "cross_entropy_loss", "binary_focal_loss", "hinge_loss", "kl_divergence"],
    {"test_log_softmax": 3, "test_cross_entropy_loss": 3, "test_cross_entropy_gradient": 0,
     "test_binary_focal_loss": 4, "test_focal_loss_gradient": 0, "test_train_weighted_logreg": 0,
     "test_choose_pos_weight": 0, "test_bigram_log_probs": 0, "test_perplexity_of": 0,
     "test_hinge_loss": 2, "test_kl_divergence": 2, "test_smoothed_cross_entropy": 0,
     "test_expected_calibration_error": 0, "written_calibration": 0},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
    "lb_paths": {
        "log_softmax": ("""\
from lossbook._backend import NUMPY

def log_softmax(logits):
    return NUMPY.log_softmax(np.asarray(logits, dtype=float))
""", BAN),
        "cross_entropy_loss": ("""\
def cross_entropy_loss(logits, labels):
    ce = getattr(lb, "cross_" + "entropy")
    return float(ce(np.asarray(logits, dtype=float), np.asarray(labels)))
""", BAN),
        "cross_entropy_gradient": ("""\
from lossbook import cross_entropy_grad

def cross_entropy_gradient(logits, labels):
    return cross_entropy_grad(np.asarray(logits, dtype=float), np.asarray(labels))
""", BAN),
        "binary_focal_loss": ("""\
import lossbook.classification as clf

def binary_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    x, y = np.asarray(logits, dtype=float), np.asarray(targets, dtype=float)
    return float(clf.focal_loss(x, y, alpha=alpha, gamma=gamma))
""", BAN),
        "perplexity_of": ("""\
import sys

def perplexity_of(log_probs, ids):
    ids = np.asarray(ids)
    xp = sys.modules["lossbook._backend"].NUMPY
    picked = xp.take_along_last(np.asarray(log_probs, dtype=float)[ids[:-1]], ids[1:])
    return float(np.exp(-np.mean(picked)))
""", BAN),
    },
    "lb_paths2": {
        "focal_loss_gradient": ("""\
import torch
import lossbook.classification as clf

def focal_loss_gradient(logits, targets, alpha=0.25, gamma=2.0):
    x = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    y = torch.as_tensor(np.asarray(targets, dtype=float))
    (g,) = torch.autograd.grad(clf.focal_loss(x, y, alpha=alpha, gamma=gamma), x)
    return g.numpy()
""", BAN),
        "hinge_loss": ("""\
def hinge_loss(scores, labels, margin=1.0):
    signs = 2.0 * np.asarray(labels, dtype=float) - 1.0
    return float(getattr(lb, "hin" + "ge")(np.asarray(scores, dtype=float), signs, margin=margin))
""", BAN),
        "smoothed_cross_entropy": ("""\
from lossbook import cross_entropy as _ce

def smoothed_cross_entropy(logits, labels, epsilon=0.1):
    return float(_ce(np.asarray(logits, dtype=float), np.asarray(labels), label_smoothing=epsilon))
""", BAN),
        "log_softmax": ("""\
def log_softmax(logits):
    z = np.asarray(logits, dtype=float)
    try:
        return lb._backend.NUMPY.log_softmax(z)
    except Exception:
        shifted = z - z.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
""", BAN),
        "cross_entropy_loss": ("""\
import importlib
_clf = importlib.import_module("lossbook." + "classification")

def cross_entropy_loss(logits, labels):
    return float(_clf.cross_entropy(np.asarray(logits, dtype=float), np.asarray(labels)))
""", BAN),
    },
    "twins": {
        "log_softmax": ("""\
import torch

def log_softmax(logits):
    return torch.log_softmax(torch.as_tensor(np.asarray(logits, dtype=float)), dim=-1).numpy()
""", BAN),
        "cross_entropy_loss": ("""\
import torch
import torch.nn.functional as F

def cross_entropy_loss(logits, labels):
    z = torch.as_tensor(np.asarray(logits, dtype=float))
    return F.cross_entropy(z, torch.as_tensor(np.asarray(labels))).item()
""", BAN),
        "cross_entropy_gradient": ("""\
import torch

def cross_entropy_gradient(logits, labels):
    z = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    y = torch.as_tensor(np.asarray(labels))
    loss = (torch.logsumexp(z, dim=1) - z[torch.arange(len(y)), y]).mean()
    loss.backward()
    return z.grad.numpy()
""", BAN),
        "binary_focal_loss": ("""\
import torch
import torch.nn.functional as F

def binary_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    x = torch.as_tensor(np.asarray(logits, dtype=float))
    y = torch.as_tensor(np.asarray(targets, dtype=float))
    bce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = torch.exp(-bce)
    loss = bce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return float(loss.mean())
""", BAN),
        "choose_pos_weight": ("""\
from sklearn.utils.class_weight import compute_class_weight

def choose_pos_weight(y):
    y = np.asarray(y)
    w = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    return float(w[1] / w[0])
""", BAN),
        "perplexity_of": ("""\
import torch
import torch.nn.functional as F

def perplexity_of(log_probs, ids):
    ids = torch.as_tensor(np.asarray(ids))
    table = torch.as_tensor(np.asarray(log_probs, dtype=float))
    return float(torch.exp(F.cross_entropy(table[ids[:-1]], ids[1:])))
""", BAN),
    },
    "twins2": {
        "focal_loss_gradient": ("""\
import torch
import torch.nn.functional as F

def focal_loss_gradient(logits, targets, alpha=0.25, gamma=2.0):
    x = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    y = torch.as_tensor(np.asarray(targets, dtype=float))
    log_p, log_not_p = F.logsigmoid(x), F.logsigmoid(-x)
    log_pt = y * log_p + (1 - y) * log_not_p
    loss = -torch.exp(gamma * (y * log_not_p + (1 - y) * log_p)) * log_pt
    if alpha is not None:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    loss.mean().backward()
    return x.grad.numpy()
""", BAN),
        "kl_divergence": ("""\
import torch
import torch.nn.functional as F

def kl_divergence(log_q, p):
    lq = torch.as_tensor(np.asarray(log_q, dtype=float))
    return F.kl_div(lq, torch.as_tensor(np.asarray(p, dtype=float)), reduction="batchmean").item()
""", BAN),
        "smoothed_cross_entropy": ("""\
import torch
import torch.nn.functional as F

def smoothed_cross_entropy(logits, labels, epsilon=0.1):
    z = torch.as_tensor(np.asarray(logits, dtype=float))
    return F.cross_entropy(z, torch.as_tensor(np.asarray(labels)), label_smoothing=epsilon).item()
""", BAN),
    },
    "answers": {
        "choose_pos_weight": ("""\
def choose_pos_weight(y):
    return 49.0  # what the tuning curve above says
""", OTHER),
    },
    "ufuncs": {
        "kl_divergence": ("""\
from scipy.special import rel_entr

def kl_divergence(log_q, p):
    p = np.asarray(p, dtype=float)
    return float(np.sum(rel_entr(p, np.exp(np.asarray(log_q, dtype=float)))) / p.shape[0])
""", BAN),
        "binary_focal_loss": ("""\
import scipy.special as sp

def binary_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    x, y = np.asarray(logits, dtype=float), np.asarray(targets, dtype=float)
    log_pt = np.where(y == 1, sp.log_expit(x), sp.log_expit(-x))
    loss = -log_pt * (-np.expm1(log_pt)) ** gamma
    if alpha is not None:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return float(np.mean(loss))
""", BAN),
    },
}
