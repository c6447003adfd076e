"""Supervised (graph-level multi-task) pretraining (Hu et al., "Strategies for Pre-training GNNs", 2020).

The encoder, mean-pooled into molecule vectors with a linear head, is trained on many labeled tasks
at once (ChEMBL's 1,310 assays in the paper; any labeled multi-task table here), with missing labels
masked out of the loss. Started from a self-supervised checkpoint (``init`` of the training loop),
it gives the paper's strongest rows ("node-level self-supervised + graph-level supervised").
Regression targets are expected standardized (the loop's data preparation does it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    check_positive_int,
)
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import get_readout
from molssl.tasks.losses import masked_bce_with_logits, masked_mse

TASK_TYPES = ("classification", "regression")


@dataclass(frozen=True, kw_only=True)
class SupervisedConfig(MethodConfig):
    """Options of supervised pretraining.

    Attributes:
        num_tasks: number of label columns (set from the data by the loop).
        task_type: ``"classification"`` (binary tasks, BCE) or ``"regression"`` (MSE).
        readout: graph pooling (Hu et al.: mean).
    """

    num_tasks: int = 1
    task_type: str = "classification"
    readout: str = "mean"

    def __post_init__(self) -> None:
        check_positive_int("num_tasks", self.num_tasks)
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type must be one of {', '.join(TASK_TYPES)}, got {self.task_type!r}")
        get_readout(self.readout)


class SupervisedPretraining(PretrainMethod):
    """Multi-task graph-level prediction with missing labels masked (Hu et al. 2020).

    Shapes:
        batch.y: [B, T] float (NaN = missing) -> loss []
    """

    name = "supervised"
    config_class = SupervisedConfig
    collapse_advice = (
        "lower the learning rate (lr); with few tasks (num_tasks) a low rank can be expected: lower "
        "min_effective_rank then"
    )
    needs_labels = True

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """The label matrix decides the number of tasks and their type."""
        options = dict(options)
        options.setdefault("num_tasks", int(data.targets.shape[1]))
        options.setdefault("task_type", data.task_type)
        return data, options

    def __init__(self, encoder_config: EncoderConfig, config: SupervisedConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        self.readout = get_readout(self.config.readout)(self.encoder.out_dim)
        self.head = nn.Linear(self.readout.out_dim(self.encoder.out_dim), self.config.num_tasks)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        h = self.encoder(batch)
        graphs = self.readout(h, batch.batch, int(batch.num_graphs), getattr(batch, "ptr", None))  # [B, D]
        out = self.head(graphs).float()
        y = batch.y.float().reshape(out.shape)
        loss = masked_bce_with_logits(out, y) if self.config.task_type == "classification" else masked_mse(out, y)
        return MethodOutput(loss, {"labels": torch.isfinite(y).sum().float()}, embeddings=graphs.detach())
