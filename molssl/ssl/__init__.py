"""The modality-agnostic self-supervised core: losses, heads, EMA teacher, masking, memory queue, monitors.

Torch only: nothing here imports RDKit, PyTorch Geometric, pandas or another molssl subpackage, so graph
methods and image, text or audio front-ends share it (a test enforces this). Tensors follow one
vocabulary: embeddings are [N, D] rows, segments are given by ``ptr`` offsets [B + 1] or a ``batch``
index [N] with the number of segments passed in, never computed from the index.
"""

from __future__ import annotations

from molssl.ssl.ema import EMATeacher, cosine_momentum
from molssl.ssl.heads import ACTIVATIONS, HeadConfig, PredictionHead, ProjectionHead
from molssl.ssl.losses import (
    LOSSES,
    BarlowTwinsLoss,
    BCEMILoss,
    InfoNCE,
    JSDMILoss,
    NegativeCosineLoss,
    NTXentLoss,
    ScaledCosineError,
    VICRegLoss,
    barlow_twins_loss,
    bce_mi_loss,
    get_loss,
    info_nce,
    jsd_mi_loss,
    local_global_scores,
    negative_cosine,
    nt_xent,
    scaled_cosine_error,
    vicreg_loss,
)
from molssl.ssl.masking import (
    ROUNDINGS,
    block_mask,
    random_mask,
    ratio_mask,
    segment_mask_counts,
    span_mask,
)
from molssl.ssl.monitors import CollapseMonitor, collapse_metrics
from molssl.ssl.queue import MemoryQueue

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "ROUNDINGS",
    "BCEMILoss",
    "BarlowTwinsLoss",
    "CollapseMonitor",
    "EMATeacher",
    "HeadConfig",
    "InfoNCE",
    "JSDMILoss",
    "MemoryQueue",
    "NTXentLoss",
    "NegativeCosineLoss",
    "PredictionHead",
    "ProjectionHead",
    "ScaledCosineError",
    "VICRegLoss",
    "barlow_twins_loss",
    "bce_mi_loss",
    "block_mask",
    "collapse_metrics",
    "cosine_momentum",
    "get_loss",
    "info_nce",
    "jsd_mi_loss",
    "local_global_scores",
    "negative_cosine",
    "nt_xent",
    "random_mask",
    "ratio_mask",
    "scaled_cosine_error",
    "segment_mask_counts",
    "span_mask",
    "vicreg_loss",
]
