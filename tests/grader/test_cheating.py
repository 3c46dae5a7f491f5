"""Cheating students: a class per assignment graded by the real nbgrader (issue 18).

For every assignment a few submissions cheat, one cheat per part (parts are independent):

* ``lb_paths``, ``lb_paths2``: reach lossbook's reference by another path than ``lb.X``: a
  module alias, a name bound at import, ``importlib``, ``sys.modules``, ``getattr`` with a built
  string, a private helper of ``lossbook._backend``, or try the reference and fall back on
  their own code when it raises;
* ``twins``: the same computation in torch, SciPy or scikit-learn (``F.huber_loss``,
  ``torch.log_softmax``, ``torch.cdist``, ``dcg_score``, ``Lasso``, autograd where a gradient by
  hand is asked, ...);
* ``oracle``: read the hidden test's expected value from the notebook's namespace;
* ``ufuncs``: scipy's NumPy ufuncs (``scipy.special.huber``, ``log_expit``), which Python
  cannot see being called;
* ``answers``, ``answers2``: an answer instead of a method (``true_quantile_heteroscedastic``,
  a pasted constant, a closed-form fit, an over-budget training run, weights trained beforehand
  and loaded back).

The parts a student does not cheat on are answered honestly (and not asserted: they may use a
cheating function of an earlier part). ``honest`` is the solutions, ``blank`` the release.
Each assignment is graded once (all students, one ``nbgrader autograde``), and every part a cheat
targets must score 0, honest work full marks, blank work 0. Then every feedback page is searched
for the lines of the hidden tests.

The control: the same cheats graded in a course copy whose hidden tests get a ``Ban`` that does
nothing. There, every cheat marked ``BAN`` earns the part's full points: the zeros above come
from the ban (and the cheat code is right), and this suite fails if the ban is removed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lossbook_grader.ban import hidden_block
from lossbook_grader.course import fill_in, make_course_copy, nbgrader, solution_sources

BAN, OTHER = True, False  # does the cheat earn points when the ban does nothing?

NOTEBOOKS = {
    "01-regression": "regression-losses.ipynb",
    "02-classification": "classification-losses.ipynb",
    "03-embeddings": "embedding-losses.ipynb",
    "04-ranking": "ranking-losses.ipynb",
    "05-custom-losses": "custom-losses.ipynb",
}

# assignment -> student -> grade_id of the answer cell -> (code, BAN or OTHER)
CHEATS: dict[str, dict[str, dict[str, tuple[str, bool]]]] = {
    "01-regression": {
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
    },
    "02-classification": {
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
        "answers": {
            "choose_pos_weight": ("""\
def choose_pos_weight(y):
    return 49.0  # what the tuning curve above says
""", OTHER),
        },
        "ufuncs": {
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
    },
    "03-embeddings": {
        "lb_paths": {
            "pairwise_distances": ("""\
def pairwise_distances(x):
    return lb._backend.namespace_of(x).pairwise_distances(x)
""", BAN),
            "contrastive_loss": ("""\
import lossbook.embedding as E

def contrastive_loss(x1, x2, y, margin=1.0):
    return E.contrastive_loss(x1, x2, y, margin=margin)
""", BAN),
            "batch_hard_triplet_loss": ("""\
import importlib
lbe = importlib.import_module("lossbook." + "embedding")

def batch_hard_triplet_loss(embeddings, labels, margin=1.0):
    return lbe.batch_triplet_loss(embeddings, labels, margin=margin, mining="batch_hard")
""", BAN),
            "info_nce_as_cross_entropy": ("""\
def info_nce_as_cross_entropy(query, key, temperature=0.07):
    return getattr(lb, "info_" + "nce")(query, key, temperature=temperature)
""", BAN),
            "recall_at_k": ("""\
import sys

def recall_at_k(embeddings, labels, k=1):
    xp = sys.modules["lossbook._backend"].namespace_of(embeddings)
    dist = xp.pairwise_distances(embeddings.detach()).fill_diagonal_(float("inf"))
    neighbours = torch.topk(dist, k, dim=1, largest=False).indices
    return float((labels[neighbours] == labels[:, None]).any(dim=1).double().mean())
""", BAN),
            "positive_probability": ("""\
from lossbook._backend import NUMPY

def positive_probability(s_pos, s_neg, n_negatives, temperature):
    z = (s_pos - s_neg) / temperature - np.log(n_negatives)
    return float(NUMPY.sigmoid(np.float64(z)))
""", BAN),
        },
        "twins": {
            "pairwise_distances": ("""\
from torch import cdist

def pairwise_distances(x):
    return cdist(x, x)
""", OTHER),
            "contrastive_loss": ("""\
def contrastive_loss(x1, x2, y, margin=1.0):
    d = torch.functional.cdist(x1[:, None, :], x2[:, None, :])[:, 0, 0]
    y = y.to(x1.dtype)
    return (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()
""", OTHER),
            "batch_hard_triplet_loss": ("""\
def batch_hard_triplet_loss(embeddings, labels, margin=1.0):
    dist = torch.cdist(embeddings, embeddings)
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool, device=dist.device)
    neg = ~same
    hardest_pos = torch.where(pos, dist, torch.zeros_like(dist)).amax(dim=1)
    hardest_neg = torch.where(neg, dist, torch.full_like(dist, float("inf"))).amin(dim=1)
    ok = pos.any(dim=1) & neg.any(dim=1)
    if not bool(ok.any()):
        return embeddings.sum() * 0.0
    return torch.clamp(hardest_pos[ok] - hardest_neg[ok] + margin, min=0).mean()
""", OTHER),
            "recall_at_k": ("""\
from scipy.spatial.distance import cdist as scipy_cdist

def recall_at_k(embeddings, labels, k=1):
    e = embeddings.detach().cpu().double().numpy()
    dist = scipy_cdist(e, e)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1, kind="stable")[:, :k]
    lab = labels.cpu().numpy()
    return float(np.mean((lab[neighbours] == lab[:, None]).any(axis=1)))
""", BAN),
            "positive_probability": ("""\
def positive_probability(s_pos, s_neg, n_negatives, temperature):
    logits = torch.tensor([s_pos / temperature] + [s_neg / temperature] * int(n_negatives), dtype=torch.float64)
    return float(torch.softmax(logits, dim=0)[0])
""", BAN),
        },
        "answers": {
            "train_encoder": ("""\
def train_encoder(encoder, X, y, *, seed=0):
    images = torch.as_tensor(X, dtype=torch.float32, device=DEVICE)
    digits = torch.as_tensor(y, dtype=torch.long, device=DEVICE)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=3e-3)
    encoder.train()
    for _ in range(450):  # a few more steps than the budget, to be safe
        batch = torch.as_tensor(rng.choice(len(images), size=128, replace=False), device=DEVICE)
        loss = lb.batch_triplet_loss(encoder(images[batch]), digits[batch], margin=0.5, mining="batch_hard")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return encoder
""", OTHER),
            "temperature_answer": ("""\
def temperature_for(probability, s_pos, s_neg, n_negatives):
    return 0.3 / np.log(255 * 9)  # T_90, worked out on paper
""", OTHER),
        },
        "answers2": {
            "train_encoder": ("""\
# Trained here, once, as long as it takes (1,000 steps); train_encoder only loads the result.
_cheat = make_encoder(seed=0)
_images = torch.as_tensor(X_train, dtype=torch.float32, device=DEVICE)
_digits = torch.as_tensor(y_train, dtype=torch.long, device=DEVICE)
_rng = np.random.default_rng(0)
_opt = torch.optim.Adam(_cheat.parameters(), lr=3e-3)
for _ in range(1000):
    _b = torch.as_tensor(_rng.choice(len(_images), size=128, replace=False), device=DEVICE)
    _loss = lb.batch_triplet_loss(_cheat(_images[_b]), _digits[_b], margin=0.5, mining="batch_hard")
    _opt.zero_grad()
    _loss.backward()
    _opt.step()
_weights = {k: v.detach().clone() for k, v in _cheat.state_dict().items()}


def train_encoder(encoder, X, y, *, seed=0):
    encoder.load_state_dict(_weights)
    return encoder
""", OTHER),
        },
    },
    "04-ranking": {
        "lb_paths": {
            "dcg_at_k": ("""\
import lossbook.ranking as R

def dcg_at_k(relevance_in_ranked_order, k):
    rel = np.asarray(relevance_in_ranked_order, dtype=float)
    return float(R.dcg(-np.arange(rel.size, dtype=float)[None], rel[None], k=int(k)))
""", BAN),
            "ndcg_at_k": ("""\
from lossbook import ndcg

def ndcg_at_k(scores, relevance, k):
    s, r = np.asarray(scores, dtype=float), np.asarray(relevance, dtype=float)
    return float(ndcg(s[None], r[None], k=int(k)))
""", BAN),
            "ranknet_loss_masked": ("""\
import importlib

def ranknet_loss_masked(scores, relevance, mask, sigma=1.0):
    rk = importlib.import_module("lossbook." + "ranking")
    return rk.ranknet_loss(scores, relevance.to(scores.dtype), sigma=sigma, mask=mask)
""", BAN),
            "listnet_loss": ("""\
import sys

def listnet_loss(scores, relevance, mask):
    return sys.modules["lossbook"].listnet_loss(scores, relevance.to(scores.dtype), mask=mask)
""", BAN),
            "dpo_loss_from_logps": ("""\
def dpo_loss_from_logps(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    return getattr(lb, "dpo_" + "loss")(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=beta)
""", BAN),
        },
        "twins": {
            "dcg_at_k": ("""\
from sklearn.metrics import dcg_score

def dcg_at_k(relevance_in_ranked_order, k):
    rel = np.asarray(relevance_in_ranked_order, dtype=float)
    if rel.size < 2:
        return float(np.sum(2.0 ** rel[:k] - 1.0))
    return float(dcg_score([2.0 ** rel - 1.0], [-np.arange(rel.size)], k=int(k)))
""", BAN),
        },
        "answers": {
            "train_linear_scorer": ("""\
def train_linear_scorer(features, relevance, mask, *, steps=100, lr=0.05):
    X = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    R = torch.as_tensor(np.asarray(relevance), dtype=torch.float64)
    M = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
    Xm, Rm = X[M], R[M]
    w = torch.linalg.solve(Xm.T @ Xm + 1e-6 * torch.eye(X.shape[-1], dtype=torch.float64), Xm.T @ Rm)
    return w.to(torch.float32).to(DEVICE)
""", OTHER),
        },
    },
    "05-custom-losses": {
        "lb_paths": {
            "pricing_loss": ("""\
import lossbook.business as biz

def pricing_loss(pred, price):
    return biz.asymmetric_squared_error(pred, price, under_weight=3.0, over_weight=1.0)
""", BAN),
            "expected_cost": ("""\
from lossbook import expected_cost as _ec

def expected_cost(probabilities, labels, cost_matrix):
    p = np.asarray(probabilities, dtype=float)
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    return float(_ec(p, np.asarray(labels), cost_matrix=np.asarray(cost_matrix, dtype=float)))
""", BAN),
            "optimal_threshold": ("""\
import importlib

def optimal_threshold(cost_matrix):
    biz = importlib.import_module("lossbook." + "business")
    return float(biz.best_threshold(np.asarray(cost_matrix, dtype=float)))
""", BAN),
            "composite_loss": ("""\
def composite_loss(terms, weights=None):
    out = getattr(lb, "composite_" + "loss")(terms, weights=weights)
    return out.total, out.parts
""", BAN),
        },
        "twins": {
            "train_fraud_detector": ("""\
from sklearn.linear_model import LogisticRegression

def train_fraud_detector(X, y, cost_matrix):
    C = np.asarray(cost_matrix, dtype=float)
    model = LogisticRegression(class_weight={0: C[0, 1] - C[0, 0], 1: C[1, 0] - C[1, 1]}, max_iter=1000)
    model.fit(np.asarray(X), np.asarray(y))
    return torch.as_tensor(model.coef_[0], dtype=torch.float32), torch.as_tensor(model.intercept_, dtype=torch.float32), 0.5
""", BAN),
            "fit_with_l1": ("""\
from sklearn.linear_model import Lasso

def fit_with_l1(X, y, weight):
    model = Lasso(alpha=weight / 2.0, tol=1e-10, max_iter=100_000).fit(np.asarray(X), np.asarray(y))
    return torch.as_tensor(model.coef_, dtype=torch.float32), torch.as_tensor([model.intercept_], dtype=torch.float32)
""", BAN),
        },
    },
}
ASSIGNMENTS = tuple(CHEATS)
# Parts that train a model: a cheating student leaves them blank unless cheating on them (time).
TRAINING = {"train_encoder", "train_linear_scorer",
            "train_fraud_detector", "fit_with_l1"}
# Cheats that still earn points, with the reason; each is an xfail(strict=True) case below.
HOLES: dict[tuple[str, str, str], str] = {
    # (assignment, student, part): why it still earns points. None known today; 02's
    # choose_pos_weight returning a constant 49.0 was one until its hidden test checked that
    # the weight follows the data.
}


def _points(source: Path) -> dict[str, float]:
    """test grade_id -> points, of one source notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def _test_id(course: Path, name: str, answer_id: str) -> str:
    """The grade_id of the test cell that grades the answer cell ``answer_id``."""
    points = _points(course / "solutions" / name / NOTEBOOKS[name])
    test = f"test_{answer_id}"
    assert test in points, (name, answer_id, sorted(points))
    return test


def _submissions(name: str, answers: dict[str, str]) -> dict[str, dict[str, str]]:
    """student -> answered cells: every cheat over the honest answers, honest, blank."""
    out = {"honest": dict(answers), "blank": {}}
    cheap = {k: v for k, v in answers.items() if k not in TRAINING}
    for student, parts in CHEATS[name].items():
        missing = set(parts) - set(answers)
        assert not missing, f"{name}: no answer cell {missing}"
        out[student] = {**cheap, **{k: code for k, (code, _) in parts.items()}}
    return out


def _grade(course: Path, name: str, students: dict[str, dict[str, str]]) -> dict:
    """Autograde ``students`` in one nbgrader run; student -> test grade_id -> score."""
    nb = NOTEBOOKS[name]
    nbgrader(course, "generate_assignment", name, "--force")
    for student, answered in students.items():
        fill_in(course / "exercises" / name / nb, answered,
                course / "submitted" / student / name / nb)
    nbgrader(course, "autograde", name, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {student: {g.name: g.score for g in
                          gb.find_submission_notebook(nb.removesuffix(".ipynb"), name,
                                                      student).grades}
                for student in students}


def _groups(prefix: str):
    return [pytest.param(name, marks=[pytest.mark.slow,
                                      pytest.mark.xdist_group(f"{prefix}-{name}")])
            for name in ASSIGNMENTS]


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    name = request.param
    course = make_course_copy(tmp_path_factory.mktemp(f"cheating-{name}"))
    answers = solution_sources(course / "solutions" / name / NOTEBOOKS[name])
    scores = _grade(course, name, _submissions(name, answers))
    nbgrader(course, "generate_feedback", name, "--force")
    return name, course, scores


NO_BAN = ('Ban = type("Ban", (), {"__init__": lambda self, *a, **k: None, '
          '"__call__": lambda self, f, *a, **k: f(*a, **k), '
          '"run": lambda self, f, *a, **k: f(*a, **k), '
          '"__enter__": lambda self: self, "__exit__": lambda self, *a: False})')


@pytest.fixture(scope="module")
def graded_without_ban(request, tmp_path_factory):
    """The cheats that rely on getting past the ban, graded where ``Ban`` does nothing."""
    name = request.param
    course = make_course_copy(tmp_path_factory.mktemp(f"cheating-control-{name}"))
    source = course / "solutions" / name / NOTEBOOKS[name]
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace("from lossbook_grader.ban import Ban", NO_BAN)
    assert NO_BAN in nbformat.writes(nb) or NO_BAN.replace('"', '\\"') in nbformat.writes(nb)
    nbformat.write(nb, source)
    answers = {k: v for k, v in solution_sources(source).items() if k not in TRAINING}
    students = {s: {**answers, **{k: code for k, (code, ban) in parts.items() if ban}}
                for s, parts in CHEATS[name].items()
                if any(ban for _, ban in parts.values())}
    return name, course, _grade(course, name, students)


GRADED = pytest.mark.parametrize("graded", _groups("cheating"), indirect=True)
CONTROL = pytest.mark.parametrize("graded_without_ban", _groups("cheating-control"), indirect=True)


@GRADED
def test_every_targeted_part_scores_zero(graded):
    name, course, scores = graded
    earned = {}
    for student, parts in CHEATS[name].items():
        for answer_id in parts:
            test = _test_id(course, name, answer_id)
            if scores[student][test] and (name, student, answer_id) not in HOLES:
                earned[f"{student}/{answer_id}"] = scores[student][test]
    assert not earned, f"{name}: cheats that earned points: {earned}"


if HOLES:  # defined only while a hole is known, so that no case is ever skipped
    @pytest.mark.parametrize("graded", [
        pytest.param(p.values[0], marks=[*p.marks, pytest.mark.xfail(strict=True, reason="; ".join(
            r for (n, _, _), r in HOLES.items() if n == p.values[0]))])
        for p in _groups("cheating") if any(n == p.values[0] for n, _, _ in HOLES)], indirect=True)
    def test_known_holes_score_zero(graded):
        """The cheats of HOLES still earn points: each assignment with one fails here (xfail,
        strict: the day a hole is closed, this fails until its entry leaves HOLES)."""
        name, course, scores = graded
        holes = [(student, part) for n, student, part in HOLES if n == name]
        assert all(scores[s][_test_id(course, name, part)] == 0 for s, part in holes)


@GRADED
def test_honest_full_marks_blank_zero(graded):
    name, course, scores = graded
    points = _points(course / "solutions" / name / NOTEBOOKS[name])
    assert scores["honest"] == points, name
    assert not any(scores["blank"].values()), (name, scores["blank"])


@CONTROL
def test_without_the_ban_the_cheats_earn_full_points(graded_without_ban):
    """The control: the zeros above come from the ban, and the cheats are right."""
    name, course, scores = graded_without_ban
    points = _points(course / "solutions" / name / NOTEBOOKS[name])
    short = {}
    for student, parts in CHEATS[name].items():
        for answer_id, (_, ban) in parts.items():
            test = _test_id(course, name, answer_id)
            if ban and scores[student][test] != points[test]:
                short[f"{student}/{answer_id}"] = (scores[student][test], points[test])
    assert not short, f"{name}: without the ban these cheats earn less than full: {short}"


def _hidden_lines(course: Path, name: str) -> set[str]:
    lines = set()
    for cell in nbformat.read(course / "solutions" / name / NOTEBOOKS[name], as_version=4).cells:
        for line in hidden_block(cell.source).splitlines():
            if len(line.strip()) > 25:  # shorter lines can coincide with visible ones
                lines.add(line.strip())
    return lines


@GRADED
def test_no_feedback_holds_a_hidden_test_line(graded):
    name, course, scores = graded
    hidden = _hidden_lines(course, name)
    assert hidden
    for student in scores:
        # a hidden line the student wrote in their own answer is theirs to see
        own = "\n".join(cell.source for cell in nbformat.read(
            course / "submitted" / student / name / NOTEBOOKS[name], as_version=4).cells)
        pages = sorted((course / "feedback" / student / name).glob("*.html"))
        assert pages, f"no feedback for {student}"
        for path in pages:
            page = path.read_text()
            text = html.unescape(re.sub(r"<[^>]+>", "", page))
            raw = html.unescape(page)
            leaked = [line for line in hidden if line not in own
                      and (line in text or line in raw or html.escape(line) in page)]
            assert not leaked, f"{name}/{student}: {leaked[:3]}"
            assert "HIDDEN TESTS" not in page
