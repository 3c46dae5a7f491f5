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
     "test_listnet_loss": 0, "test_train_linear_scorer": 0, "test_dpo_loss_from_logps": 4,
     "test_dpo_gradient": 0, "test_listmle_loss": 0, "test_lambdarank_lambdas": 0,
     "written_pointwise_vs_ranking": 0},
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
        "listmle_loss": ("""\
import lossbook.ranking as R

def listmle_loss(scores, relevance, mask):
    return R.listmle_loss(scores, relevance.to(scores.dtype), mask=mask)
""", BAN),
        "dpo_gradient": ("""\
import lossbook.ranking as R

def dpo_gradient(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    as_t = lambda a: torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)
    pc, pr = as_t(policy_chosen).requires_grad_(), as_t(policy_rejected).requires_grad_()
    loss = R.dpo_loss(pc, pr, as_t(ref_chosen), as_t(ref_rejected), beta=beta)
    g_c, g_r = torch.autograd.grad(loss, [pc, pr])
    return g_c.numpy(), g_r.numpy()
""", BAN),
        "lambdarank_lambdas": ("""\
import importlib

def lambdarank_lambdas(scores, relevance, k=None, sigma=1.0):
    rk = importlib.import_module("lossbook." + "ranking")
    s = torch.tensor(np.asarray(scores, dtype=float)[None, :], requires_grad=True)
    rel = torch.tensor(np.asarray(relevance, dtype=float)[None, :])
    (g,) = torch.autograd.grad(rk.lambdarank_loss(s, rel, k=k, sigma=sigma, reduction="sum"), s)
    return g[0].numpy()
""", BAN),
    },
    "twins": {
        # the gradients by torch autograd, where a gradient by hand is asked
        "dpo_gradient": ("""\
def dpo_gradient(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    as_t = lambda a: torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)
    pc, pr = as_t(policy_chosen).requires_grad_(), as_t(policy_rejected).requires_grad_()
    z = beta * ((pc - pr) - (as_t(ref_chosen) - as_t(ref_rejected)))
    torch.nn.functional.softplus(-z).mean().backward()
    return pc.grad.numpy(), pr.grad.numpy()
""", BAN),
        "lambdarank_lambdas": ("""\
def lambdarank_lambdas(scores, relevance, k=None, sigma=1.0):
    s = torch.tensor(np.asarray(scores, dtype=float), dtype=torch.float64, requires_grad=True)
    rel = torch.tensor(np.asarray(relevance, dtype=float), dtype=torch.float64)
    n = s.numel()
    position = torch.empty(n, dtype=torch.float64)
    position[torch.argsort(-s.detach(), stable=True)] = torch.arange(1, n + 1, dtype=torch.float64)
    cutoff = n if k is None else int(k)
    disc = torch.where(position <= cutoff, 1.0 / torch.log2(position + 1.0), torch.zeros(()))
    ideal_pos = torch.arange(1, n + 1, dtype=torch.float64)
    ideal_disc = torch.where(ideal_pos <= cutoff, 1.0 / torch.log2(ideal_pos + 1.0), torch.zeros(()))
    gain = 2.0 ** rel - 1.0
    ideal = (torch.sort(gain, descending=True).values * ideal_disc).sum()
    if ideal.item() == 0.0:
        return np.zeros(n)
    delta = ((gain[:, None] - gain[None, :]) * (disc[:, None] - disc[None, :])).abs() / ideal
    pair = torch.nn.functional.softplus(-sigma * (s[:, None] - s[None, :]))
    loss = torch.where(rel[:, None] > rel[None, :], delta * pair, torch.zeros(())).sum()
    (g,) = torch.autograd.grad(loss, s)
    return g.numpy()
""", BAN),
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
