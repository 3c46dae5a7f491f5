"""lossbook: the loss functions of the lossbook course, written once for NumPy and torch.

Every public function is available as ``lossbook.<name>``. Functions take NumPy arrays or
torch tensors (CPU or CUDA) and return the same kind; with tensors they are differentiable by
autograd. ``import lossbook`` does not import torch.
"""

from lossbook import datasets
from lossbook._backend import ArrayT  # the type of the signatures (not in __all__: no loss)
from lossbook._reduction import reduce
from lossbook.business import (
    CompositeLoss,
    asymmetric_squared_error,
    best_threshold,
    composite_loss,
    cost_sensitive_binary_cross_entropy,
    expected_cost,
    l1_penalty,
    l2_penalty,
)
from lossbook.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    cross_entropy,
    cross_entropy_grad,
    focal_loss,
    hinge,
    kl_div,
    multiclass_hinge,
    next_token_cross_entropy,
    perplexity,
    softmax_focal_loss,
    squared_hinge,
)
from lossbook.embedding import (
    batch_triplet_loss,
    contrastive_loss,
    info_nce,
    multiple_negatives_ranking_loss,
    nt_xent,
    triplet_loss,
)
from lossbook.ranking import (
    dcg,
    dpo_loss,
    lambdarank_loss,
    listmle_loss,
    listnet_loss,
    mrr,
    ndcg,
    ranknet_loss,
    recall_at_k,
)
from lossbook.regression import (
    huber,
    huber_grad,
    log_cosh,
    log_cosh_grad,
    mae,
    mae_grad,
    mse,
    mse_grad,
    quantile,
    quantile_grad,
    smooth_l1,
    smooth_l1_grad,
)

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "reduce",
    # regression
    "mse",
    "mse_grad",
    "mae",
    "mae_grad",
    "huber",
    "huber_grad",
    "smooth_l1",
    "smooth_l1_grad",
    "log_cosh",
    "log_cosh_grad",
    "quantile",
    "quantile_grad",
    # classification and language models
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "focal_loss",
    "softmax_focal_loss",
    "hinge",
    "squared_hinge",
    "multiclass_hinge",
    "kl_div",
    "next_token_cross_entropy",
    "perplexity",
    # embeddings
    "contrastive_loss",
    "triplet_loss",
    "batch_triplet_loss",
    "multiple_negatives_ranking_loss",
    "info_nce",
    "nt_xent",
    # ranking and preferences
    "ranknet_loss",
    "listnet_loss",
    "listmle_loss",
    "lambdarank_loss",
    "dcg",
    "ndcg",
    "mrr",
    "recall_at_k",
    "dpo_loss",
    # custom and business losses
    "asymmetric_squared_error",
    "cost_sensitive_binary_cross_entropy",
    "expected_cost",
    "best_threshold",
    "CompositeLoss",
    "composite_loss",
    "l1_penalty",
    "l2_penalty",
]
