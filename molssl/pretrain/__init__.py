"""Pretraining: the loop every method shares (``pretrain``), its configuration, run directories and DDP."""

from __future__ import annotations

from molssl.pretrain.config import TrainConfig
from molssl.pretrain.trainer import PretrainResult, pretrain

__all__ = ["PretrainResult", "TrainConfig", "pretrain"]
