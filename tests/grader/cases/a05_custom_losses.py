"""Expectations of the grading suites for assignment 05-custom-losses.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "05-custom-losses"
NOTEBOOK = "custom-losses.ipynb"
TRAINING: set[str] = {'train_fraud_detector', 'fit_with_l1'}

PARTIAL = (
    ["pricing_loss", "expected_cost", "optimal_threshold"],
    {"test_pricing_loss": 4, "test_expected_cost": 4, "test_optimal_threshold": 3,
     "test_composite_loss": 0, "test_train_fraud_detector": 0, "test_fit_with_l1": 0},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
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
}
