"""The configuration of a transfer experiment (``molssl.tasks.transfer``): plain data, validated on construction.

A variant is what an encoder is pretrained with before fine-tuning: ``"none"`` (a random
initialization), a pretraining method (a key of ``molssl.methods.METHODS``), or one of the
combinations in ``COMBINATIONS`` (two objectives on one encoder, where a method supports it).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from molssl.files import json_safe
from molssl.ssl.plain_config import PlainConfig
from molssl.pretrain.config import TrainConfig
from molssl.tasks.finetune import FinetuneConfig

NONE = "none"
#: combined variants: name -> (the method that trains both objectives, its options)
COMBINATIONS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "descriptors+attr_masking": ("descriptors", {"attr_masking_weight": 1.0}),
}
#: fields a rerun into the same directory may change: these lists grow (the union is recorded) ...
EXTENDABLE = ("variants", "datasets", "pretrain_steps", "seeds", "variant_options")
#: ... and these change how, not what, the experiment computes
RUNTIME = ("workers", "pretrain_device")
#: pretraining log and checkpoint intervals (a resumed run logs the same rows whatever they are)
LOG_EVERY = 10
CHECKPOINT_EVERY = 100
#: fine-tuning readout and featurization: Hu et al.'s
READOUT = "mean"
SCHEME = "hu"


def valid_variants() -> list[str]:
    """Every variant name: ``none``, the registered methods, the combinations."""
    from molssl.methods import METHODS

    return [NONE, *sorted(METHODS), *COMBINATIONS]


def resolve_variant(name: str, options: Mapping[str, Any] | None = None) -> tuple[str | None, dict[str, Any]]:
    """The pretraining method of a variant (``None`` for ``"none"``) and its options.

    Raises:
        ValueError: an unknown variant (the message lists the valid ones), options for ``"none"``, or an
            option the method does not have.
    """
    import molssl.methods as methods

    options = dict(options or {})
    if name == NONE:
        if options:
            raise ValueError(f"variant 'none' is not pretrained and takes no options, got {sorted(options)}")
        return None, {}
    if name in COMBINATIONS:
        method, base = COMBINATIONS[name]
        options = {**base, **options}
    elif name in methods.METHODS:
        method = name
    else:
        raise ValueError(
            f"unknown transfer variant {name!r}; valid variants: {', '.join(valid_variants())} (the only combinations "
            f"are {', '.join(COMBINATIONS)}: a method that trains both objectives on one encoder)"
        )
    config_class = methods.get_method(method).config_class
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(config_class)})
    if unknown:
        raise ValueError(f"variant {name!r}: unknown {config_class.__name__} options {unknown}; valid: "
                         f"{', '.join(f.name for f in dataclasses.fields(config_class))}")  # fmt: skip
    return method, options


def _unique(name: str, values: tuple) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice: {list(values)}")


def _int_list(name: str, values: Any, minimum: int) -> tuple[int, ...]:
    values = tuple(values)
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < minimum for v in values):
        raise ValueError(f"{name} must be a non-empty list of ints >= {minimum}, got {list(values)}")
    return values


@dataclass(frozen=True, kw_only=True)
class TransferConfig(PlainConfig):
    """What a transfer experiment pretrains, fine-tunes and on what (defaults: Hu et al. 2020's protocol).

    Attributes:
        variants: ``"none"``, method names, combinations (``valid_variants()``).
        datasets: MoleculeNet classification sets (the average over them is a ROC-AUC).
        pretrain_steps: pretraining lengths, increasing; each variant's encoder is fine-tuned after each.
        epochs: fine-tuning epochs (Hu et al.: 100).
        seeds: fine-tuning seeds (pretraining uses seed 0).
        variant_options: method options per variant, e.g. ``{"graphmae": {"mask_rate": 0.5}}``.
        encoder: overrides of the pretraining encoder (``molssl.pretrain.trainer.DEFAULT_ENCODER``: GIN
            5 x 300, JK last); fine-tuning from scratch (``none``) uses the same architecture.
        pretrain_batch_size, pretrain_lr: pretraining batch (molecules per step) and constant rate.
        precision: pretraining precision (``fp32``, ``bf16``, ``fp16`` on GPU).
        finetune_batch_size, finetune_lr, dropout, mode: fine-tuning (``molssl.tasks.finetune``).
        corpus: unlabeled pretraining molecules (a SMILES/CSV file or store directory); None: the embedded
            50,000-molecule MOSES sample.
        workers: featurization processes when the corpus's store (or descriptor targets) is built.
        pretrain_device: device of pretraining (``auto``: CUDA when available); fine-tuning runs on the CPU.
    """

    variants: tuple[str, ...] = (NONE, "attr_masking")
    datasets: tuple[str, ...] = ("bbbp", "bace", "clintox", "sider")
    pretrain_steps: tuple[int, ...] = (1000,)
    epochs: int = 100
    seeds: tuple[int, ...] = (0, 1, 2)
    variant_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    encoder: Mapping[str, Any] = field(default_factory=dict)
    pretrain_batch_size: int = 256
    pretrain_lr: float = 1e-3
    precision: str = "fp32"
    finetune_batch_size: int = 32
    finetune_lr: float = 1e-3
    dropout: float = 0.5
    mode: str = "full"
    corpus: str | None = None
    workers: int = 1
    pretrain_device: str = "auto"

    def __post_init__(self) -> None:
        from molssl.data.catalog import get_dataset_info

        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen: normalize once)
        set_("variants", (self.variants,) if isinstance(self.variants, str) else tuple(self.variants))
        if not self.variants:
            raise ValueError("variants must not be empty")
        _unique("variants", self.variants)
        datasets = []
        for name in (self.datasets,) if isinstance(self.datasets, str) else self.datasets:
            info = get_dataset_info(name)
            if info.task_type != "classification":
                raise ValueError(f"dataset {name!r} is a {info.task_type} set; transfer averages ROC-AUC over classification sets")
            datasets.append(info.key)
        set_("datasets", tuple(datasets))
        if not self.datasets:
            raise ValueError("datasets must not be empty")
        _unique("datasets", self.datasets)
        set_("pretrain_steps", _int_list("pretrain_steps", self.pretrain_steps, 1))
        if any(b <= a for a, b in zip(self.pretrain_steps, self.pretrain_steps[1:])):
            raise ValueError(f"pretrain_steps must increase (one run is resumed to each in turn), got {list(self.pretrain_steps)}")
        set_("seeds", _int_list("seeds", self.seeds, 0))
        _unique("seeds", self.seeds)
        options = {str(k): dict(v) for k, v in dict(self.variant_options).items()}
        stray = sorted(set(options) - set(self.variants))
        if stray:
            raise ValueError(f"variant_options for {stray}, which are not among the variants {list(self.variants)}")
        set_("variant_options", options)
        set_("encoder", dict(self.encoder))
        try:
            json.dumps({"variant_options": self.variant_options, "encoder": self.encoder, "corpus": self.corpus}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"variant_options, encoder and corpus must be plain JSON data: {exc}") from None
        for variant in self.variants:
            resolve_variant(variant, self.variant_options.get(variant))
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        self.scratch_encoder()
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ValueError(f"workers must be a positive int, got {self.workers!r}")
        if self.corpus is not None and not isinstance(self.corpus, str):
            raise ValueError(f"corpus must be a path (str) or None, got {self.corpus!r}")
        self.pretrain_config(self.pretrain_steps[-1])
        self.finetune_config(self.seeds[0])

    def _encoder_config(self, dropout: float):
        from molssl.nn.encoder import EncoderConfig
        from molssl.pretrain.trainer import DEFAULT_ENCODER

        return EncoderConfig(**{**DEFAULT_ENCODER, **self.encoder, "dropout": dropout, "scheme": SCHEME})

    def scratch_encoder(self):
        """The ``EncoderConfig`` that ``none`` fine-tunes from scratch: the pretrained architecture, fine-tuning dropout."""
        return self._encoder_config(self.dropout)

    def variant_method(self, variant: str) -> tuple[str | None, dict[str, Any]]:
        """The method (None for ``none``) and options ``variant`` pretrains with."""
        return resolve_variant(variant, self.variant_options.get(variant))

    def pretrain_config(self, steps: int, progress: bool = False) -> TrainConfig:
        """The loop's options for a run of ``steps`` steps (constant rate: longer runs extend shorter ones)."""
        return TrainConfig(steps=steps, batch_size=self.pretrain_batch_size, lr=self.pretrain_lr, precision=self.precision,
                           seed=0, log_every=LOG_EVERY, checkpoint_every=CHECKPOINT_EVERY, device=self.pretrain_device,
                           progress=progress)  # fmt: skip

    def finetune_config(self, seed: int) -> FinetuneConfig:
        """The fine-tuning protocol of one seed."""
        return FinetuneConfig(epochs=self.epochs, batch_size=self.finetune_batch_size, lr=self.finetune_lr, mode=self.mode, seeds=(seed,))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (lists, not tuples), as config.json holds it."""
        return json_safe(dataclasses.asdict(self))

    def experiment_key(self) -> dict[str, Any]:
        """What every row of this experiment shares: the fields a rerun may not change, as plain data.

        The corpus is named by its file name, so that rows recorded in one checkout are recognized in another
        (``molssl.tasks.transfer.adopt_rows``); each row carries this key.
        """
        data = self.to_dict()
        key = {k: v for k, v in data.items() if k not in EXTENDABLE + RUNTIME}
        if key["corpus"] is not None:
            key["corpus"] = Path(key["corpus"]).name
        return key

    def extended_by(self, new: "TransferConfig") -> "TransferConfig":
        """The union of this (recorded) configuration and ``new`` (a rerun's), when ``new`` may extend it.

        Raises:
            ValueError: ``new`` differs in a field other than ``EXTENDABLE`` and ``RUNTIME``, or pretrains
                a variant both name with other options; the message names them.
        """
        old_data, new_data = self.to_dict(), new.to_dict()
        diffs = [k for k in old_data if k not in EXTENDABLE + RUNTIME and old_data[k] != new_data[k]]
        diffs += [f"variant_options[{v!r}]" for v in self.variants if v in new.variants and self.variant_method(v) != new.variant_method(v)]
        if diffs:
            raise ValueError(
                f"differs in {', '.join(diffs)} ({'; '.join(f'{k}: {old_data[k]!r} -> {new_data[k]!r}' for k in diffs if k in old_data)}); "
                f"only {', '.join(EXTENDABLE[:4])} may be added to (and {', '.join(RUNTIME)} changed)"
            )
        union = lambda a, b: tuple(a) + tuple(x for x in b if x not in a)  # noqa: E731
        return dataclasses.replace(
            new, variants=union(self.variants, new.variants), datasets=union(self.datasets, new.datasets),
            pretrain_steps=tuple(sorted(set(self.pretrain_steps) | set(new.pretrain_steps))),
            seeds=union(self.seeds, new.seeds), variant_options={**self.variant_options, **new.variant_options},
        )  # fmt: skip
