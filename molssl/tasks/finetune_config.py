"""The hyperparameters of the fine-tuning protocol (``FinetuneConfig``), validated on construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from molssl.eval.metrics import get_metric
from molssl.peft import PEFT_METHODS
from molssl.ssl.plain_config import PlainConfig
from molssl.tasks.finetune_modes import check_mode_options

#: fine-tuning modes: everything, a frozen encoder, its last k layers, a PEFT method, or LP-FT
MODES = ("full", "linear_probe", "last_k", *PEFT_METHODS, "lp_ft")


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(PlainConfig):
    """Hyperparameters of the fine-tuning protocol (defaults: Hu et al. 2020).

    Attributes:
        epochs: training epochs per seed.
        batch_size: training batch size.
        lr: learning rate of the head (and readout).
        encoder_lr: learning rate of the encoder; None = ``lr``.
        weight_decay: Adam weight decay.
        mode: ``"full"``, ``"linear_probe"`` (frozen encoder), ``"last_k"``, a parameter-efficient
            method (``"adapter"``, ``"lora"``, ``"bitfit"``, ``"gpf"``, ``"gpf_plus"``: ``molssl.peft``)
            or ``"lp_ft"`` (Kumar et al., ICLR 2022: ``lp_epochs`` epochs of linear probing, then full
            fine-tuning with a fresh optimizer for the rest).
        last_k: trainable encoder layers in ``last_k`` mode.
        peft: options of the PEFT ``mode`` (fields of ``molssl.peft.PeftConfig`` but ``method``, e.g.
            ``{"lora_rank": 4}``); empty = its defaults. Only for PEFT modes.
        lp_epochs: linear-probing epochs of ``lp_ft`` (default: half of ``epochs``). Only for ``lp_ft``.
        seeds: one run per seed.
        metric: selection/report metric; None = ROC-AUC for classification, one-vs-rest ROC-AUC for multiclass, RMSE for regression.
        eval_batch_size: batch size for evaluation.
        eval_train: also score the training set every epoch (costs a pass over it; only logged).
        activation_checkpointing: recompute each encoder layer in backward instead of keeping its
            activations (``molssl.nn.activation_checkpointing``): same results, less memory, more time.
        frozen_feature_cache: while the whole encoder is frozen and in eval mode (``linear_probe``, LP-FT's
            first phase), run it once per molecule and train the rest on its stored outputs
            (``molssl.tasks.frozen_features``): the same results up to float rounding, without an
            encoder pass per batch and epoch. Modes where the encoder trains run it per batch either way.
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr: float | None = None
    weight_decay: float = 0.0
    mode: str = "full"
    last_k: int = 1
    peft: dict[str, Any] = field(default_factory=dict)
    lp_epochs: int | None = None
    seeds: tuple[int, ...] = (0,)
    metric: str | None = None
    eval_batch_size: int = 256
    eval_train: bool = False
    activation_checkpointing: bool = False
    frozen_feature_cache: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("epochs, batch_size and eval_batch_size must be >= 1")
        if self.lr <= 0 or (self.encoder_lr is not None and self.encoder_lr < 0) or self.weight_decay < 0:
            raise ValueError("lr must be > 0, encoder_lr and weight_decay >= 0")
        if self.mode not in MODES:
            raise ValueError(f"unknown fine-tuning mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        object.__setattr__(self, "lp_epochs", check_mode_options(self.mode, self.peft, self.lp_epochs, self.epochs))
        if not isinstance(self.activation_checkpointing, bool):
            raise ValueError(f"activation_checkpointing must be a bool, got {self.activation_checkpointing!r}")
        if not isinstance(self.frozen_feature_cache, bool):
            raise ValueError(f"frozen_feature_cache must be a bool, got {self.frozen_feature_cache!r}")
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.metric is not None:
            get_metric(self.metric)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (``seeds`` a list); ``from_dict`` rebuilds it, refusing unknown keys."""
        return {**dataclasses.asdict(self), "seeds": list(self.seeds)}


__all__ = ["MODES", "FinetuneConfig"]
