"""Descriptor-prediction pretraining: regress a molecule's RDKit 2D descriptors from its graph.

The graph-level task of MolBERT (Fabian et al., "Molecular representation learning with language
models and domain-relevant auxiliary tasks", 2020: physicochemical descriptors) and of chemprop's
CheMeleon foundation model (pretrained to predict Mordred descriptors). Its targets are computed
from the molecule alone, so any unlabeled corpus serves, and they summarize much of what property
prediction needs (size, polarity, lipophilicity, ring and charge structure); both papers report strong
transfer at modest compute. Whether it pays off sooner than masking or contrastive objectives is what
``molssl transfer`` measures (benchmarks/RESULTS.md, "Compute vs gain"); it is not assumed here.

Targets (``molssl.data.descriptor_targets``): every RDKit 2D descriptor (or a chosen subset),
computed once per corpus and cached beside the store, standardized by the corpus median and IQR and
clipped; values RDKit could not compute are NaN and masked out of the loss. The head is a two-layer
MLP on the mean-pooled encoder output; the loss is the masked mean squared error.

With ``attr_masking_weight > 0`` the same encoder is also trained with attribute masking (Hu et al.
2020) on the same batch, and the loss is ``descriptor loss + attr_masking_weight * masking loss``:
Hu et al.'s finding that node-level and graph-level objectives together transfer best.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod, check_fraction, check_positive_int
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import get_readout
from molssl.ssl.heads import ProjectionHead
from molssl.tasks.losses import masked_mse


@dataclass(frozen=True, kw_only=True)
class DescriptorTargetsConfig(MethodConfig):
    """The descriptor-regression options every modality's descriptor method has.

    Attributes:
        num_targets: number of descriptors K (set from the data by the loop).
        descriptors: names of the RDKit descriptors to predict (``None``: all of them).
        clip: bound on the standardized targets.
        hidden_dim: hidden size of the MLP head (``None``: the encoder's output size).
    """

    num_targets: int = 1
    descriptors: tuple[str, ...] | None = None
    clip: float = 6.0
    hidden_dim: int | None = None

    def __post_init__(self) -> None:
        check_positive_int("num_targets", self.num_targets)
        if self.descriptors is not None:
            object.__setattr__(self, "descriptors", tuple(self.descriptors))
            if len(self.descriptors) != self.num_targets:
                raise ValueError(f"{len(self.descriptors)} descriptors named but num_targets is {self.num_targets}")
        if not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise ValueError(f"clip must be a positive number, got {self.clip!r}")
        if self.hidden_dim is not None:
            check_positive_int("hidden_dim", self.hidden_dim)


@dataclass(frozen=True, kw_only=True)
class DescriptorConfig(DescriptorTargetsConfig):
    """Options of descriptor-prediction pretraining of a GNN (those of ``DescriptorTargetsConfig`` and:).

    Attributes:
        readout: graph pooling.
        attr_masking_weight: weight of an attribute-masking loss on the same encoder (0: none).
        mask_rate: attribute masking's fraction of atoms (when its weight is > 0).
    """

    readout: str = "mean"
    attr_masking_weight: float = 0.0
    mask_rate: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.attr_masking_weight, (int, float)) and self.attr_masking_weight >= 0):
            raise ValueError(f"attr_masking_weight must be a number >= 0, got {self.attr_masking_weight!r}")
        check_fraction("mask_rate", self.mask_rate)
        get_readout(self.readout)


def check_descriptor_options(config_class: type[DescriptorTargetsConfig], options: Mapping[str, Any] | None) -> None:
    """The user's options as ``config_class`` checks them, ``num_targets`` counted from named ``descriptors``."""
    options = dict(options or {})
    if isinstance(options.get("descriptors"), (list, tuple)) and "num_targets" not in options:
        options["num_targets"] = len(options["descriptors"])
    config_class.from_dict(options)


def prepare_descriptor_targets(data: Any, options: dict[str, Any], workers: int = 1) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    """Compute (or read from the cache) the standardized descriptor targets of a graph or text source.

    A graph source's molecules come from its store (``molssl.data.descriptor_targets.descriptor_targets``,
    cached beside it), a text source's from its SMILES (``smiles_descriptor_targets``).

    Returns:
        (targets [M, K] float32 with NaN = masked, the source description with ``descriptor_targets``
        (names, scaler, what could not be computed), the options with ``descriptors`` and ``num_targets``).

    Raises:
        ValueError: the source has no molecules to compute descriptors from (images, in-memory graphs).
    """
    from molssl.data.descriptor_targets import descriptor_targets, smiles_descriptor_targets

    options = dict(options)
    names, clip = options.get("descriptors"), options.get("clip", DescriptorTargetsConfig.clip)
    if getattr(data, "store", None) is not None:
        targets = descriptor_targets(data.store, names, clip=clip, workers=workers)
    elif getattr(data, "modality", None) == "text":
        targets = smiles_descriptor_targets(data.smiles, names, clip=clip, origin=data.source, workers=workers)
    else:
        kind = data.describe().get("kind") if callable(getattr(data, "describe", None)) else type(data).__name__
        raise ValueError(f"descriptor prediction computes its targets from SMILES: pretrain on a SMILES file or molecule "
                         f"store, not {kind} data")  # fmt: skip
    options["descriptors"] = list(targets.names)
    options["num_targets"] = len(targets.names)
    description = {**data.describe(), "descriptor_targets": {**targets.description, "names": list(targets.names),
                                                             "scaler": targets.scaler.to_dict()}}  # fmt: skip
    return targets.values, description, options


class DescriptorPrediction(PretrainMethod):
    """Predict standardized RDKit descriptors from the pooled graph representation (masked MSE).

    Shapes:
        batch.y: [B, K] float (NaN = masked) -> loss []
    """

    name = "descriptors"
    config_class = DescriptorConfig
    collapse_advice = (
        "lower the learning rate (lr); with few descriptors (num_targets) a low rank can be expected: lower "
        "min_effective_rank then"
    )

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> None:
        """The user's options as the config checks them, ``num_targets`` counted from named ``descriptors``."""
        check_descriptor_options(cls.config_class, options)

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """Compute (or read from the cache beside the store) the standardized descriptor targets.

        The standardization statistics, the descriptor names and what could not be computed are
        recorded in the run's data description (``descriptor_targets``).
        """
        targets, description, options = prepare_descriptor_targets(data, options, workers)
        return dataclasses.replace(data, targets=targets, description=description), options

    def __init__(self, encoder_config: EncoderConfig, config: DescriptorConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.readout = get_readout(self.config.readout)(dim)
        pooled = self.readout.out_dim(dim)
        self.head = ProjectionHead(pooled, self.config.num_targets, self.config.hidden_dim or pooled, num_layers=2, batch_norm=False)
        self.masking: AttributeMasking | None = None
        if self.config.attr_masking_weight > 0:
            masking = AttributeMasking(encoder_config, AttributeMaskingConfig(mask_rate=self.config.mask_rate))
            # One encoder, two objectives: the masking head trains with this method, but its encoder is this
            # one, held as a plain attribute so its weights appear once in state_dict and checkpoints.
            del masking._modules["encoder"]
            object.__setattr__(masking, "encoder", self.encoder)
            self.masking = masking

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        h = self.encoder(batch)  # [N, D]
        graphs = self.readout(h, batch.batch, int(batch.num_graphs), getattr(batch, "ptr", None))  # [B, D']
        out = self.head(graphs).float()  # [B, K]
        y = batch.y.float().reshape(out.shape)
        loss = masked_mse(out, y)
        observed = ~torch.isnan(y)
        metrics = {"descriptor_loss": loss.detach(), "observed": observed.float().mean().detach()}
        if self.masking is not None:
            masked = self.masking(batch, generator)
            loss = loss + self.config.attr_masking_weight * masked.loss
            metrics.update({"masking_loss": masked.loss.detach(), **masked.metrics})
        return MethodOutput(loss, metrics, embeddings=graphs.detach())
