"""Expectations of the grading suites for assignment 00-what-is-a-loss.

PARTIAL (test_grading): the answer cells a partial student fills in, and the score every graded
cell must then get from autograde (a manually graded cell scores 0 until a grader marks it).
CHEATS (test_cheating): student -> answer cell -> (cheating code, BAN if the cheat earns the
part's full points when the ban does nothing, else OTHER).
TRAINING: the answer cells that train a model (a cheating student leaves them blank unless
cheating on them, to keep the suite fast).
"""

from cases import BAN, OTHER  # noqa: F401

ASSIGNMENT = "00-what-is-a-loss"
NOTEBOOK = "training-loop.ipynb"
TRAINING: set[str] = {"train"}

# forward, bce_loss, backward and check_gradients are tested on the tests' own networks and
# losses, so each scores alone; train needs backward (answered) and is left blank.
PARTIAL = (
    ["forward", "bce_loss", "backward", "check_gradients"],
    {"test_forward": 3, "test_bce_loss": 3, "test_backward": 7, "test_check_gradients": 5,
     "test_train": 0, "written_staircase": 0, "written_failed_run": 0},
)

CHEATS: dict[str, dict[str, tuple[str, bool]]] = {
    "lb_paths": {
        "bce_loss": ("""\
import lossbook.classification as _clf

def bce_loss(z, y):
    return float(_clf.binary_cross_entropy_with_logits(np.asarray(z, dtype=float), np.asarray(y, dtype=float)))
""", BAN),
        # lossbook's gradient of the loss with respect to the logits, then the chain rule by hand
        "backward": ("""\
import importlib

def backward(params, X, y):
    grad_of_logits = getattr(importlib.import_module("lossbook"), "binary_cross_entropy_with_logits_" + "grad")
    X = np.asarray(X, dtype=float)
    h = np.tanh(X @ params["W1"] + params["b1"])
    dz = grad_of_logits(h @ params["W2"] + params["b2"], np.asarray(y, dtype=float))
    dA = np.outer(dz, params["W2"]) * (1.0 - h**2)
    return {"W1": X.T @ dA, "b1": dA.sum(axis=0), "W2": h.T @ dz, "b2": np.array([dz.sum()])}
""", BAN),
        # lossbook.testing's own check, whose message names the argument, the entry and both numbers
        "check_gradients": ("""\
from lossbook import testing as _lbt

def check_gradients(loss_fn, params, grads, eps=1e-6, rtol=1e-5, atol=1e-8):
    for key in params:
        _lbt.check_gradient(lambda v, key=key: loss_fn({**params, key: v}), grads[key], params[key],
                            name=key, eps=eps, rtol=rtol, atol=atol)
""", BAN),
    },
    "twins": {
        "forward": ("""\
def forward(params, X):
    t = {k: torch.as_tensor(np.asarray(v, dtype=float)) for k, v in params.items()}
    net = torch.nn.functional.linear(torch.tanh(torch.as_tensor(np.asarray(X, dtype=float)) @ t["W1"] + t["b1"]),
                                     t["W2"][None, :], t["b2"])
    return net[:, 0].numpy()
""", BAN),
        "bce_loss": ("""\
def bce_loss(z, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(
        torch.as_tensor(np.asarray(z, dtype=float)), torch.as_tensor(np.asarray(y, dtype=float))).item()
""", BAN),
        "backward": ("""\
def backward(params, X, y):
    t = {k: torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for k, v in params.items()}
    z = torch.tanh(torch.as_tensor(np.asarray(X, dtype=float)) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = torch.nn.functional.softplus(z).mean() - (torch.as_tensor(np.asarray(y, dtype=float)) * z).mean()
    grads = torch.autograd.grad(loss, [t[k] for k in params])
    return {k: g.numpy() for k, g in zip(params, grads)}
""", BAN),
        # scipy's finite differences instead of one's own
        "check_gradients": ("""\
from scipy.optimize import approx_fprime

def check_gradients(loss_fn, params, grads, eps=1e-6, rtol=1e-5, atol=1e-8):
    for key, value in params.items():
        value = np.asarray(value, dtype=float)
        given = np.asarray(grads[key], dtype=float)
        if given.shape != value.shape:
            raise AssertionError(f"{key}: gradient of shape {given.shape}, parameter of shape {value.shape}")
        flat = lambda v, key=key, shape=value.shape: loss_fn({**params, key: v.reshape(shape)})
        # scipy's forward differences are too coarse for rtol 1e-5: average them with backward
        # ones (forward differences of u -> f(-u) at -x, negated)
        numeric = (approx_fprime(value.ravel(), flat, eps)
                   - approx_fprime(-value.ravel(), lambda u: flat(-u), eps)) / 2
        numeric = numeric.reshape(value.shape)
        for i in np.ndindex(value.shape):
            if abs(given[i] - numeric[i]) > atol + rtol * abs(numeric[i]):
                raise AssertionError(f"{key} at {i}: gradient {given[i]:.10g}, central difference {numeric[i]:.10g}")
""", BAN),
        # scikit-learn's MLPClassifier (tanh, one hidden layer) trains the network; backward is
        # called the counted number of times and its results thrown away
        "train": ("""\
import warnings

from sklearn.neural_network import MLPClassifier

def train(X, y, *, hidden=8, lr=0.5, steps=200, seed=0):
    X = np.asarray(X, dtype=float)
    model = MLPClassifier(hidden_layer_sizes=(hidden,), activation="tanh", max_iter=500, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its convergence warning would zero the test cell
        model.fit(X, np.asarray(y))
    params = {"W1": model.coefs_[0], "b1": model.intercepts_[0], "W2": model.coefs_[1][:, 0],
              "b2": model.intercepts_[1].copy()}
    for _ in range(steps):
        backward(params, X, y)
    return params
""", BAN),
    },
    "answers": {
        # central differences of one's own loss instead of a derivation: right to about 1e-9,
        # but neither exact nor zero where the hidden units saturate
        "backward": ("""\
def backward(params, X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)

    def loss(p):
        z = np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return float(np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z))

    grads = {}
    for key, value in params.items():
        g = np.zeros_like(value, dtype=float)
        for i in np.ndindex(value.shape):
            plus, minus = value.astype(float), value.astype(float)
            plus[i] += 1e-6
            minus[i] -= 1e-6
            g[i] = (loss({**params, key: plus}) - loss({**params, key: minus})) / 2e-6
        grads[key] = g
    return grads
""", OTHER),
        # a check that never complains
        "check_gradients": ("""\
def check_gradients(loss_fn, params, grads, eps=1e-6, rtol=1e-5, atol=1e-8):
    for key in params:
        loss_fn(params)
    return None
""", OTHER),
        # the constant predictor: every tumour gets the most common label (backward is called
        # the counted number of times, the weights never use it)
        "train": ("""\
def train(X, y, *, hidden=8, lr=0.5, steps=200, seed=0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    params = {"W1": np.zeros((X.shape[1], hidden)), "b1": np.zeros(hidden), "W2": np.zeros(hidden),
              "b2": np.array([1.0 if y.mean() >= 0.5 else -1.0])}
    for _ in range(steps):
        backward(params, X, y)
    return params
""", OTHER),
    },
    "answers2": {
        # over budget: three gradient steps for every step allowed
        "train": ("""\
def train(X, y, *, hidden=8, lr=0.5, steps=200, seed=0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(0, 1 / np.sqrt(X.shape[1]), (X.shape[1], hidden)), "b1": np.zeros(hidden),
              "W2": rng.normal(0, 1 / np.sqrt(hidden), hidden), "b2": np.zeros(1)}
    for _ in range(3 * steps):
        grads = backward(params, X, y)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params
""", OTHER),
        # a check that always complains
        "check_gradients": ("""\
def check_gradients(loss_fn, params, grads, eps=1e-6, rtol=1e-5, atol=1e-8):
    key = next(iter(params))
    raise AssertionError(f"{key} at (0,): gradient 0, central difference 0")
""", OTHER),
    },
}
