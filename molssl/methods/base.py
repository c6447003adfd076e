"""What a pretraining method is: a module that turns a batch into a loss, on the shared training loop.

A method owns the encoder it pretrains plus whatever heads, second networks or teachers its loss
needs, and defines what a batch becomes (masks, substructures, negatives, augmented views). Everything
else (data order, optimizer, schedule, precision, clipping, seeding, logging, checkpoints, distributed
training) is the loop's (``molssl.pretrain``), for every modality. Randomness comes only from the
``generator`` the loop passes, seeded per step, so a resumed run repeats exactly what an uninterrupted
one would have done.

A method declares the data it trains on (``modality``: ``"graph"``, ``"image"``, ..., or a tuple for a
method of several modalities, such as SimCLR on images and audio) and its encoder (``default_encoder``:
a kind of ``molssl.nn.encoders`` with its options); the loop opens the data of that modality
(``molssl.pretrain.source``) and builds the encoder from the default, the user's overrides and what the
data decides (``DataSource.encoder_options``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, NamedTuple

import torch
from torch import Tensor, nn

from molssl.chem.schemes import FeaturizationSpec
from molssl.nn.encoders import build_encoder, config_from_dict
from molssl.ssl.checks import check_fraction, check_positive_int
from molssl.ssl.plain_config import PlainConfig


class MethodOutput(NamedTuple):
    """What one step of a method returns.

    Attributes:
        loss: the scalar to minimize.
        metrics: scalars worth logging (detached; e.g. accuracy of the masked-atom prediction).
        embeddings: representations the collapse monitors look at ([B, D] graph or [N, D] node
            vectors), or ``None``.
        embeddings2: the same items under a second view (contrastive methods), for alignment.
    """

    loss: Tensor
    metrics: dict[str, Tensor]
    embeddings: Tensor | None = None
    embeddings2: Tensor | None = None


@dataclass(frozen=True, kw_only=True)
class MethodConfig(PlainConfig):
    """Base of every method's configuration: plain data, validated on construction."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "MethodConfig":
        """Build from plain data (``None``: the defaults); unknown keys are an error that lists the valid ones."""
        return super().from_dict(dict(data or {}))


class PretrainMethod(nn.Module, ABC):
    """Base class of pretraining methods (one subclass per file in ``molssl.methods``).

    Subclasses set ``name``, ``config_class``, ``modality``, ``default_encoder``, ``needs_labels`` and
    ``collapse_advice``, build their heads in ``__init__`` and implement ``forward``. ``self.encoder`` is
    the network handed to fine-tuning, built from ``encoder_config`` by its registered kind.

    Args:
        encoder_config: the encoder to pretrain: a registered encoder config (``EncoderConfig`` records
            the featurization scheme) or its ``molssl.nn.encoders.config_to_dict`` form.
        config: the method's own options (an instance of ``config_class``).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    #: the data the method trains on: a modality of ``molssl.pretrain.source`` or a tuple of them (the first
    #: is the default when the data does not say)
    modality: ClassVar[str | tuple[str, ...]] = "graph"
    #: the encoder the method pretrains unless told otherwise: ``{"kind": ..., **options}``; options the data
    #: decides (the featurization scheme, image channels) are filled in by the loop. Graphs: Hu et al. (2020)'s
    #: 5 GIN layers of 300, JK last, no dropout
    default_encoder: ClassVar[Mapping[str, Any]] = {"kind": "gnn", "conv": "gin", "num_layers": 5, "emb_dim": 300, "jk": "last",
                                                   "dropout": 0.0}  # fmt: skip
    #: the method trains on per-molecule labels (``batch.y``)
    needs_labels: ClassVar[bool] = False
    #: some parameters may receive no gradient in a step (tells DDP to look for them)
    may_skip_parameters: ClassVar[bool] = False
    #: what to try when the collapse monitor flags this method's embeddings, naming the method's own
    #: options (and the loop's ``lr``); the loop ends the collapse warning with it
    collapse_advice: ClassVar[str] = "lower the learning rate (lr)"

    def __init__(self, encoder_config: Any, config: MethodConfig | None = None) -> None:
        super().__init__()
        config = self.config_class() if config is None else config
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        if isinstance(encoder_config, Mapping):
            encoder_config = config_from_dict(encoder_config)
        self.config = config
        self.encoder_config = encoder_config
        self.encoder = build_encoder(encoder_config)

    def set_total_steps(self, total_steps: int) -> None:
        """Told by the loop, before training, how many optimizer steps the run takes (for schedules over the run).

        The default ignores it; a method whose schedule spans the run (BYOL's momentum) keeps it.
        """

    @classmethod
    def modalities(cls) -> tuple[str, ...]:
        """The modalities the method trains on, the default first."""
        return (cls.modality,) if isinstance(cls.modality, str) else tuple(cls.modality)

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> None:
        """Validate the user's options before any data is read (the loop calls this first).

        The default builds the config from them; a method whose ``prepare_data`` fills options in from the
        data overrides it to fill what the options alone decide.

        Raises:
            ValueError: an unknown option (the valid ones listed) or a value the config refuses.
        """
        cls.config_class.from_dict(options)

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """Attach what the method trains on to the loaded data and fill the options the data decides.

        Called by the loop once per run (on rank 0 first, so anything computed is cached for the other
        ranks) with the ``molssl.pretrain.source.DataSource`` (for graphs a ``GraphSource``) and the
        user's options. The default changes nothing; supervised pretraining sets its task count,
        descriptor prediction computes its targets.

        Returns:
            (data, options): possibly with ``data.targets`` set and options filled in.
        """
        return data, options

    @property
    def scheme(self) -> FeaturizationSpec:
        """The featurization spec the batches must use."""
        return self.encoder_config.scheme

    @abstractmethod
    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        """One step's loss on ``batch``, drawing every random choice from ``generator``."""


def shifted(n: int, shift: int, device: torch.device) -> Tensor:
    """Index that pairs item i with item (i + shift) mod n: negatives from other molecules in the batch.

    Hu et al. (2020) form negatives by cycling the batch (``cycle_index``); with ``n > 1`` and
    ``0 < shift < n`` no item is paired with itself.

    Shapes:
        -> [n]
    """
    return (torch.arange(n, device=device) + shift) % max(n, 1)


def binary_accuracy(positive: Tensor, negative: Tensor) -> Tensor:
    """Fraction of positive scores above 0 and negative scores below 0, together (detached).

    Shapes:
        positive: [P], negative: [Q] -> []
    """
    return torch.cat([positive > 0, negative < 0]).float().mean().detach()


def accuracy(logits: Tensor, target: Tensor) -> Tensor:
    """Fraction of rows whose argmax equals the target (0 for no rows), detached."""
    if target.numel() == 0:
        return logits.new_zeros(()).detach()
    return (logits.argmax(dim=-1) == target).float().mean().detach()


__all__ = [
    "MethodConfig", "MethodOutput", "PretrainMethod", "accuracy", "binary_accuracy", "check_fraction", "check_positive_int",
    "shifted",
]  # fmt: skip
