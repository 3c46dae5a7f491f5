"""Expectations of the grading suites for assignment 04-ranking.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "04-ranking"
NOTEBOOK = "ranking-losses.ipynb"
TRAINING: set[str] = {'train_linear_scorer'}

PARTIAL = (
    ["dcg_at_k", "ndcg_at_k", "dpo_loss_from_logps"],
    {"test_dcg_at_k": 3, "test_ndcg_at_k": 4, "test_ranknet_loss_masked": 0,
     "test_listnet_loss": 0, "test_train_linear_scorer": 0, "test_dpo_loss_from_logps": 4},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
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
}
