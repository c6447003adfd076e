"""The training loop's configuration: plain data, validated on construction."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from molssl.ssl.checks import check_known_keys

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adam", "adamw")
#: fields that may differ when a run is resumed (the run gets longer or quieter, nothing else changes)
#: (activation checkpointing recomputes the same values: it trades memory for time, nothing else)
RESUMABLE_CHANGES = ("epochs", "steps", "progress", "checkpoint_every", "log_every", "device", "activation_checkpointing")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How a pretraining run trains (defaults: Hu et al. 2020, Adam at 1e-3, batch 256, constant rate).

    Attributes:
        epochs: passes over the data (Hu et al.: 100); ignored when ``steps`` is set.
        steps: total optimizer steps; overrides ``epochs``.
        batch_size: molecules per step across all processes (each of W ranks takes batch_size / W).
        lr: peak learning rate.
        weight_decay: decoupled (adamw) or L2 (adam) weight decay.
        optimizer: ``"adam"`` or ``"adamw"``.
        schedule: ``"constant"`` or ``"cosine"`` decay to 0 after ``warmup_steps`` of linear warm-up.
        warmup_steps: linear warm-up length (0 = none).
        precision: ``"fp32"``, ``"bf16"`` (autocast, CPU or GPU) or ``"fp16"`` (autocast with a gradient
            scaler, GPU only).
        grad_clip: clip the global gradient norm to this value (0 = no clipping).
        seed: seeds the initialization, the data order and every random choice of the method.
        log_every: steps between metric rows (losses averaged over the interval).
        checkpoint_every: steps between resumable checkpoints (one is always written at the end).
        device: ``"auto"`` (CUDA when available, for torchrun: the local rank's GPU), ``"cpu"``, ``"cuda"``...
        progress: show a progress bar (rank 0 only).
        activation_checkpointing: keep only each encoder layer's input for backward and recompute the
            rest (``molssl.nn.activation_checkpointing``): same losses and gradients, less memory, about
            a third more time per step.
        size_curriculum: fraction of the run's steps over which batches come from the smallest
            molecules first (``molssl.data.size_curriculum``); 0 = uniform sampling throughout. The
            curriculum's length is this fraction of the total steps, so extending a run on resume
            lengthens it.
        curriculum_start: share of the molecules, smallest first, that the first curriculum step
            samples from.
    """

    epochs: int = 100
    steps: int | None = None
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    schedule: str = "constant"
    warmup_steps: int = 0
    precision: str = "fp32"
    grad_clip: float = 0.0
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    device: str = "auto"
    progress: bool = True
    activation_checkpointing: bool = False
    size_curriculum: float = 0.0
    curriculum_start: float = 0.2

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "log_every", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.checkpoint_every % self.log_every:
            raise ValueError(
                f"checkpoint_every ({self.checkpoint_every}) must be a multiple of log_every ({self.log_every}), so that "
                "a resumed run logs the same rows as an uninterrupted one"
            )
        if self.steps is not None and (not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1):
            raise ValueError(f"steps must be a positive int or None, got {self.steps!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}")
        for name in ("lr", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        for name, valid in (("precision", PRECISIONS), ("schedule", SCHEDULES), ("optimizer", OPTIMIZERS)):
            if getattr(self, name) not in valid:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; valid: {', '.join(valid)}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if not isinstance(self.activation_checkpointing, bool):
            raise ValueError(f"activation_checkpointing must be a bool, got {self.activation_checkpointing!r}")
        from molssl.data.size_curriculum import check_curriculum

        check_curriculum(self.size_curriculum, self.curriculum_start)

    def total_steps(self, batches_per_epoch: int) -> int:
        """Optimizer steps of the whole run."""
        return self.steps if self.steps is not None else self.epochs * batches_per_epoch

    def lr_at(self, step: int, total_steps: int) -> float:
        """Learning rate of step ``step`` (0-based): a pure function of the step, so resuming needs no state."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return self.lr
        span = max(total_steps - self.warmup_steps, 1)
        progress = min(max(step - self.warmup_steps, 0) / span, 1.0)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        check_known_keys(cls, data)
        return cls(**data)
