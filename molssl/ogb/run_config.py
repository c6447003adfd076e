"""The configuration of an OGB harness run: the dataset, the encoder and the fine-tuning protocol, as plain data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from molssl.nn.encoder import EncoderConfig
from molssl.ogb.catalog import get_ogb_dataset
from molssl.ogb.features import normalize_features
from molssl.registry import Registry
from molssl.tasks.finetune import FinetuneConfig

#: the encoders of OGB's examples (``--gnn``) and their sage/gat siblings: name -> (conv, virtual node)
OGB_ENCODERS: Registry[tuple[str, bool]] = Registry("encoder", {
    f"{conv}{suffix}": (conv, suffix == "-virtual") for conv in ("gin", "gcn", "sage", "gat") for suffix in ("", "-virtual")
})  # fmt: skip
DEFAULT_ENCODER = "gin-virtual"  # the default of OGB's example script


@dataclass(frozen=True, kw_only=True)
class OgbRunConfig:
    """Everything that determines a harness run's numbers (plain data; seeds aside, a resumed run must match).

    Attributes:
        dataset: an ogbg-mol* name (``"ogbg-molhiv"``; ``"molhiv"`` is accepted).
        encoder: a key of ``OGB_ENCODERS``; default ``"gin-virtual"``, or the checkpoint's with ``init``.
        init: an encoder (or property-predictor) checkpoint to start from; its scheme picks the features.
        features: ``"full"`` (OGB's 9/3 features; default), ``"simple"`` (OGB's ``--feature simple``) or
            a molssl scheme name (SMILES of ``mapping/mol.csv.gz`` featurized by molssl).
        num_layers, emb_dim, jk, residual: the encoder's (default 5, 300, "last", False, or the
            checkpoint's with ``init``; giving a different value than the checkpoint's is an error).
        dropout: dropout of the encoder (0.5, as the baselines).
        readout: graph pooling (``mean``, OGB's default; ``sum``, ``max``, ``attention``, ``set2set``).
        epochs, batch_size, lr, weight_decay, mode, last_k, encoder_lr: the fine-tuning protocol
            (``molssl.tasks.finetune.FinetuneConfig``).
        seeds: the seeds, or their number N for seeds 0..N-1 (the leaderboard asks for 10).
        eval_batch_size: batch size when scoring (does not change the numbers).
    """

    dataset: str
    encoder: str | None = None
    init: str | None = None
    features: str | None = None
    num_layers: int | None = None
    emb_dim: int | None = None
    jk: str | None = None
    residual: bool | None = None
    dropout: float = 0.5
    readout: str = "mean"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    mode: str = "full"
    last_k: int = 1
    encoder_lr: float | None = None
    seeds: tuple[int, ...] | int = 10
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        from molssl.nn.readout import get_readout

        object.__setattr__(self, "dataset", get_ogb_dataset(self.dataset).name)
        seeds = self.seeds
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ValueError(f"seeds must be >= 1 (or a list of seeds), got {seeds}")
            seeds = tuple(range(seeds))
        seeds = tuple(int(s) for s in seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be non-empty and distinct, got {seeds}")
        object.__setattr__(self, "seeds", seeds)
        if self.encoder is not None:
            OGB_ENCODERS[self.encoder]  # an unknown name raises, listing the valid ones
        if self.features is not None:
            object.__setattr__(self, "features", normalize_features(self.features))
        if self.init is not None:
            object.__setattr__(self, "init", str(self.init))
        get_readout(self.readout)
        self.finetune_config((0,))  # validates epochs, lr, mode, ...

    def finetune_config(self, seeds: Sequence[int]) -> FinetuneConfig:
        info = get_ogb_dataset(self.dataset)
        return FinetuneConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, encoder_lr=self.encoder_lr,
            weight_decay=self.weight_decay, mode=self.mode, last_k=self.last_k, seeds=tuple(seeds),
            metric=info.eval_metric, eval_batch_size=self.eval_batch_size,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "seeds": list(self.seeds)}


def encoder_name(encoder: EncoderConfig) -> str:
    """``"gin-virtual"`` etc. for an encoder config."""
    return f"{encoder.conv}{'-virtual' if encoder.virtual_node else ''}"


__all__ = ["DEFAULT_ENCODER", "OGB_ENCODERS", "OgbRunConfig", "encoder_name"]
