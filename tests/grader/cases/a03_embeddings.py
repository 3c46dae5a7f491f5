"""Expectations of the grading suites for assignment 03-embeddings.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "03-embeddings"
NOTEBOOK = "embedding-losses.ipynb"
TRAINING: set[str] = {'train_encoder'}

PARTIAL = (
    ["pairwise_distances", "contrastive_loss", "positive_probability", "temperature_answer",
     "info_nce_similarity_gradient"],
    {"test_pairwise_distances": 3, "test_contrastive_loss": 3,
     "test_batch_hard_triplet_loss": 0, "test_info_nce_as_cross_entropy": 0,
     "test_recall_at_k": 0, "test_train_encoder": 0, "test_positive_probability": 3,
     "test_temperature_answer": 2, "test_info_nce_similarity_gradient": 4,
     "test_mnrl_with_hard_negatives": 0, "test_nt_xent_loss": 0,
     "written_temperature_and_negatives": 0},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
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
        "mnrl_with_hard_negatives": ("""\
def mnrl_with_hard_negatives(anchors, positives, negatives=None, scale=20.0):
    return lb.multiple_negatives_ranking_loss(anchors, positives, negatives, scale=scale)
""", BAN),
        "nt_xent_loss": ("""\
import lossbook.embedding as _emb

def nt_xent_loss(z1, z2, temperature=0.5):
    return _emb.nt_xent(z1, z2, temperature=temperature)
""", BAN),
        # the reference's own loss, differentiated by autograd
        "info_nce_similarity_gradient": ("""\
def info_nce_similarity_gradient(similarities, temperature):
    s = similarities.detach().clone().requires_grad_()
    n = s.shape[0]
    loss = lb.cross_entropy(s / temperature, torch.arange(n, device=s.device))
    loss.backward()
    return s.grad
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
        # autograd where the part asks for the gradient by hand
        "info_nce_similarity_gradient": ("""\
def info_nce_similarity_gradient(similarities, temperature):
    s = similarities.detach().clone().requires_grad_()
    loss = F.cross_entropy(s / temperature, torch.arange(s.shape[0], device=s.device))
    (grad,) = torch.autograd.grad(loss, s)
    return grad
""", BAN),
    },
    "answers": {
        # central differences of one's own loss instead of a derivation
        "info_nce_similarity_gradient": ("""\
def info_nce_similarity_gradient(similarities, temperature):
    s = similarities.detach().double().cpu().numpy()

    def loss(v):
        u = v / temperature
        top = u.max(axis=1, keepdims=True)
        return np.mean(top[:, 0] + np.log(np.exp(u - top).sum(axis=1)) - np.diagonal(u))

    grad = np.zeros_like(s)
    for i in np.ndindex(s.shape):
        step = np.zeros_like(s)
        step[i] = 1e-6
        grad[i] = (loss(s + step) - loss(s - step)) / 2e-6
    return torch.as_tensor(grad, dtype=similarities.dtype, device=similarities.device)
""", OTHER),
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
}
