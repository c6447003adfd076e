"""A pretraining run's configuration, plain data validated on construction: ``RunConfig`` *is* the run's config.json.

``RunConfig`` (method and its options, encoder, data, training options, init) round-trips through
``to_dict``/``from_dict``; the run directory's ``config.json`` is its ``to_dict()`` with the method
options and the encoder filled in completely, plus what the run found (``RECORDED``: format, molssl
version, world size and the data source's ``describe()``). ``RunConfig.from_dict`` of a run's
config.json therefore repeats that run. ``molssl pretrain``'s options are generated from these fields
(``molssl.cli.config_options``), so an option is declared once, here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from molssl.ssl.plain_config import PlainConfig

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adam", "adamw")
#: fields that may differ when a run is resumed (the run gets longer or quieter, nothing else changes)
#: (activation checkpointing recomputes the same values: it trades memory for time, nothing else)
RESUMABLE_CHANGES = ("epochs", "steps", "progress", "checkpoint_every", "log_every", "device", "activation_checkpointing",
                     "min_effective_rank")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class TrainConfig(PlainConfig):
    """How a pretraining run trains (defaults: Hu et al. 2020, Adam at 1e-3, batch 256, constant rate).

    Attributes:
        epochs: passes over the data (Hu et al.: 100); ignored when ``steps`` is set.
        steps: total optimizer steps; overrides ``epochs``.
        batch_size: items (molecules, images, ...) per step across all processes (each of W ranks takes
            batch_size / W).
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
            items first (molecules: fewest atoms; ``molssl.data.size_curriculum``); 0 = uniform
            sampling throughout. The curriculum's length is this fraction of the total steps, so
            extending a run on resume lengthens it. Needs data whose items have sizes.
        curriculum_start: share of the items, smallest first, that the first curriculum step
            samples from.
        min_effective_rank: warn when the embeddings' effective rank falls below this (collapse).
    """

    epochs: int = 100
    steps: int | None = None
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = field(default="adam", metadata={"choices": OPTIMIZERS})
    schedule: str = field(default="constant", metadata={"choices": SCHEDULES})
    warmup_steps: int = 0
    precision: str = field(default="fp32", metadata={"choices": PRECISIONS})
    grad_clip: float = 0.0
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    device: str = "auto"
    progress: bool = True
    activation_checkpointing: bool = False
    size_curriculum: float = 0.0
    curriculum_start: float = 0.2
    min_effective_rank: float = 2.0

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
        for f in dataclasses.fields(self):
            valid = f.metadata.get("choices")
            if valid is not None and getattr(self, f.name) not in valid:
                raise ValueError(f"unknown {f.name} {getattr(self, f.name)!r}; valid: {', '.join(valid)}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if not isinstance(self.activation_checkpointing, bool):
            raise ValueError(f"activation_checkpointing must be a bool, got {self.activation_checkpointing!r}")
        from molssl.data.size_curriculum import check_curriculum

        check_curriculum(self.size_curriculum, self.curriculum_start)
        value = self.min_effective_rank
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"min_effective_rank must be a finite number >= 0, got {value!r}")

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


#: what config.json records beside the ``RunConfig``: facts the run found, not options
RECORDED = ("format", "format_version", "molssl_version", "world_size", "source")


@dataclass(frozen=True, kw_only=True)
class DataConfig(PlainConfig):
    """What a run trains on.

    Attributes:
        path: a file or directory of the modality's data (``None`` or ``"embedded"``: its embedded default).
        modality: the data's modality (``None``: the method's; for a method of several modalities, its first).
        options: the modality opener's options (graphs: ``scheme``, ``smiles_column``, ``target_columns``,
            ``task_type``; see ``molssl.pretrain.data.GraphDataOptions``).
        workers: processes that prepare the data (featurize, decode) when it is first read.
    """

    path: str | None = None
    modality: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    workers: int = 1

    def __post_init__(self) -> None:
        if self.path is not None:
            object.__setattr__(self, "path", str(self.path))
        if not isinstance(self.options, Mapping):
            raise ValueError(f"data options must be a dict, got {type(self.options).__name__}")
        object.__setattr__(self, "options", dict(self.options))
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ValueError(f"workers must be a positive int, got {self.workers!r}")


@dataclass(frozen=True, kw_only=True)
class RunConfig(PlainConfig):
    """One pretraining run as plain data (module docstring): what ``molssl.pretrain`` takes and config.json holds.

    ``to_dict`` gives the ``RunConfig`` keys of config.json (the data and train configs nested as dicts).

    Attributes:
        method: a registered method (``molssl.methods.METHODS``).
        method_config: the method's options (fields of its config class); config.json holds all of them.
        encoder: the encoder: ``{"kind": ..., **options}``, or overrides of the method's
            ``default_encoder`` (without ``kind``); options the data decides (the featurization scheme,
            image channels) are filled in from the data. config.json holds the complete config.
        data: what to train on.
        train: how the loop trains.
        init: start the encoder from this checkpoint or run directory.
    """

    method: str = "attr_masking"
    method_config: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    init: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise ValueError(f"method must be a method name, got {self.method!r}")
        for name in ("method_config", "encoder"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a dict of plain data, got {type(value).__name__}")
            object.__setattr__(self, name, dict(value))
        if isinstance(self.data, Mapping):
            object.__setattr__(self, "data", DataConfig.from_dict(self.data))
        if isinstance(self.train, Mapping):
            object.__setattr__(self, "train", TrainConfig.from_dict(self.train))
        if self.init is not None:
            object.__setattr__(self, "init", str(self.init))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunConfig":
        """From ``to_dict`` output or a run's config.json (its ``RECORDED`` facts are set aside).

        Raises:
            ValueError: unknown keys (the valid ones listed) or invalid values.
        """
        return super().from_dict({k: v for k, v in data.items() if k not in RECORDED})
