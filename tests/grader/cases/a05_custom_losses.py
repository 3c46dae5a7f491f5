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
    ["pricing_loss", "pricing_gradient", "expected_cost", "optimal_threshold"],
    {"test_pricing_loss": 2, "test_pricing_gradient": 4, "test_expected_cost": 3,
     "test_optimal_threshold": 3, "test_train_fraud_detector": 0, "written_checkpoint": 0,
     "test_composite_loss": 0, "written_term_scale": 0, "test_fit_ridge": 0,
     "test_fit_with_l1": 0, "written_shortcut": 0},
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
        "pricing_gradient": ("""\
import lossbook.business as biz

def pricing_gradient(pred, price, under_weight=3.0, over_weight=1.0):
    p = torch.tensor(np.asarray(pred, dtype=float), requires_grad=True)
    loss = biz.asymmetric_squared_error(p, torch.as_tensor(np.asarray(price, dtype=float)),
                                        under_weight=under_weight, over_weight=over_weight)
    (g,) = torch.autograd.grad(loss, p)
    return g.numpy()
""", BAN),
    },
    "twins": {
        "pricing_gradient": ("""\
def pricing_gradient(pred, price, under_weight=3.0, over_weight=1.0):
    p = torch.tensor(np.asarray(pred, dtype=float), requires_grad=True)
    r = p - torch.as_tensor(np.asarray(price, dtype=float))
    torch.where(r < 0, under_weight * r * r, over_weight * r * r).mean().backward()
    return p.grad.numpy()
""", BAN),
        "fit_ridge": ("""\
def fit_ridge(X, y, weight, *, lr=0.1, steps=500):
    X_t = torch.as_tensor(np.asarray(X, dtype=float))
    y_t = torch.as_tensor(np.asarray(y, dtype=float))
    w = torch.zeros(X_t.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        loss = ((X_t @ w + b - y_t) ** 2).mean() + weight * (w ** 2).sum()
        grad_w, grad_b = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w -= lr * grad_w
            b -= lr * grad_b
    return w.detach().numpy(), b.item()
""", BAN),
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
    "twins2": {
        # the L1 fit of the previous version of this part: torch autograd for the squared error's
        # gradient, then the soft threshold
        "fit_with_l1": ("""\
def fit_with_l1(X, y, weight, *, lr=0.1, steps=500):
    X_t = torch.as_tensor(np.asarray(X, dtype=float))
    y_t = torch.as_tensor(np.asarray(y, dtype=float))
    w = torch.zeros(X_t.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        grad_w, grad_b = torch.autograd.grad(((X_t @ w + b - y_t) ** 2).mean(), [w, b])
        with torch.no_grad():
            w -= lr * grad_w
            w.copy_(torch.sign(w) * torch.clamp(w.abs() - lr * weight, min=0.0))
            b -= lr * grad_b
    return w.detach().numpy(), b.detach().numpy()
""", BAN),
    },
    "answers": {
        # a gradient by numerical differentiation of one's own loss instead of a derivation
        "pricing_gradient": ("""\
def pricing_gradient(pred, price, under_weight=3.0, over_weight=1.0):
    pred = np.asarray(pred, dtype=float)
    price = np.asarray(price, dtype=float)

    def loss(p):
        r = p - price
        return np.mean(np.where(r < 0, under_weight, over_weight) * r * r)

    grad = np.zeros_like(pred)
    for i in np.ndindex(pred.shape):
        step = np.zeros_like(pred)
        step[i] = 1e-6
        grad[i] = (loss(pred + step) - loss(pred - step)) / 2e-6
    return grad
""", OTHER),
        # the closed form (numpy.linalg.solve) once there are enough steps to converge, gradient
        # descent only for the short runs that a test could compare step by step
        "fit_ridge": ("""\
def fit_ridge(X, y, weight, *, lr=0.1, steps=500):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = X.shape
    if steps >= 200:
        Xc, yc = X - X.mean(axis=0), y - y.mean()
        w = np.linalg.solve(Xc.T @ Xc / n + weight * np.eye(d), Xc.T @ yc / n)
        return w, float(y.mean() - X.mean(axis=0) @ w)
    w, b = np.zeros(d), 0.0
    for _ in range(steps):
        r = X @ w + b - y
        w, b = w - lr * (2.0 / n * (X.T @ r) + 2.0 * weight * w), b - lr * 2.0 / n * np.sum(r)
    return w, float(b)
""", BAN),
    },
}
