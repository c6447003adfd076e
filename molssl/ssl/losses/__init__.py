"""Self-supervised losses, one per file, each a small ``nn.Module`` with a functional twin.

The modules validate their hyperparameters at construction; the functions validate shapes on every
call (shapes only, never values, so no device synchronization). ``get_loss(name, **kwargs)`` builds a
module from its registry key.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from molssl.ssl.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss
from molssl.ssl.losses.byol import NegativeCosineLoss, negative_cosine
from molssl.ssl.losses.cross_modal import cross_modal_info_nce
from molssl.ssl.losses.dino import DINOLoss, dino_loss, dino_targets
from molssl.ssl.losses.infonce import InfoNCE, NTXentLoss, info_nce, nt_xent
from molssl.ssl.losses.mutual_info import (
    BCEMILoss,
    JSDMILoss,
    bce_mi_loss,
    jsd_mi_loss,
    local_global_scores,
)
from molssl.ssl.losses.scaled_cosine import ScaledCosineError, scaled_cosine_error
from molssl.ssl.losses.vicreg import VICRegLoss, vicreg_loss

LOSSES: dict[str, type[nn.Module]] = {
    "info_nce": InfoNCE,
    "nt_xent": NTXentLoss,
    "bce_mi": BCEMILoss,
    "jsd_mi": JSDMILoss,
    "negative_cosine": NegativeCosineLoss,
    "barlow_twins": BarlowTwinsLoss,
    "vicreg": VICRegLoss,
    "scaled_cosine": ScaledCosineError,
}


def get_loss(name: str, **kwargs: Any) -> nn.Module:
    """The loss module registered under ``name``, built with ``kwargs`` (its hyperparameters).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or an invalid hyperparameter.
    """
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; valid losses: {', '.join(sorted(LOSSES))}") from None
    return cls(**kwargs)


__all__ = [
    "LOSSES",
    "BCEMILoss",
    "BarlowTwinsLoss",
    "DINOLoss",
    "InfoNCE",
    "JSDMILoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "ScaledCosineError",
    "VICRegLoss",
    "barlow_twins_loss",
    "cross_modal_info_nce",
    "bce_mi_loss",
    "dino_loss",
    "dino_targets",
    "get_loss",
    "info_nce",
    "jsd_mi_loss",
    "local_global_scores",
    "negative_cosine",
    "nt_xent",
    "scaled_cosine_error",
    "vicreg_loss",
]
