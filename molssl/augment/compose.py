"""The registry of GraphCL augmentations and the two augmented views of a batch.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020) contrast two views of each
graph, each made by one augmentation drawn from a pair (e.g. node dropping and subgraph). Each view is
made from the original batch, independently, as the reference does with its two augmented datasets.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch_geometric.data import Batch

from molssl.augment.attr_mask import AttrMask
from molssl.augment.base import Augmentation
from molssl.augment.edge_perturb import EdgePerturb
from molssl.augment.node_drop import NodeDrop
from molssl.augment.subgraph import Subgraph
from molssl.chem.schemes import FeaturizationSpec
from molssl.registry import Registry


@dataclass(frozen=True, kw_only=True)
class Identity(Augmentation):
    """The unchanged graph (GraphCL's ``none``): a shallow copy of the batch, no random numbers drawn."""

    name: ClassVar[str] = "identity"

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        return copy.copy(batch)


AUGMENTATIONS: Registry[type[Augmentation]] = Registry(
    "augmentation", {cls.name: cls for cls in (NodeDrop, EdgePerturb, AttrMask, Subgraph, Identity)}
)


def get_augmentation(name: str, **options: Any) -> Augmentation:
    """The augmentation registered under ``name``, built with ``options`` (its config fields).

    Raises:
        ValueError: for an unknown name or option (the message lists the valid ones) or an invalid value.
    """
    cls = AUGMENTATIONS[name]
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"unknown options {unknown} for augmentation {name!r}; valid options: {', '.join(valid) or '(none)'}")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in options and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ValueError(f"augmentation {name!r} needs the options {missing}; valid options: {', '.join(valid)}")
    return cls(**options)


def build_augmentation(
    augmentation: str | Augmentation, ratio: float = 0.2, scheme: str | FeaturizationSpec | None = None
) -> Augmentation:
    """An augmentation from its name with GraphCL's single ``ratio`` (an instance is returned as is).

    ``attr_mask`` takes its mask token from ``scheme`` (a name or a ``FeaturizationSpec``).
    """
    if isinstance(augmentation, Augmentation):
        return augmentation
    if augmentation == "attr_mask":
        if scheme is None:
            raise ValueError("attr_mask needs the featurization scheme for its mask token: pass scheme=")
        return AttrMask.from_scheme(scheme, ratio)
    cls = AUGMENTATIONS.get(augmentation) if isinstance(augmentation, str) else None
    has_ratio = cls is not None and "ratio" in {f.name for f in dataclasses.fields(cls)}
    return get_augmentation(augmentation, **({"ratio": ratio} if has_ratio else {}))


def augment_pair(
    batch: Batch,
    names: tuple[str | Augmentation, str | Augmentation],
    generator: torch.Generator,
    *,
    ratio: float = 0.2,
    scheme: str | FeaturizationSpec | None = None,
) -> tuple[Batch, Batch]:
    """Two augmented views of every graph of ``batch``, one per augmentation of ``names``.

    Both views are made from ``batch`` (never from each other) with random numbers drawn from
    ``generator`` one after the other, so a pair of the same augmentation gives two different views
    and the same generator state gives the same pair. Both keep ``num_graphs``: graph ``i`` of one
    view is the positive of graph ``i`` of the other.

    Args:
        batch: a collated batch.
        names: two registry names (``AUGMENTATIONS``) or built augmentations.
        generator: the source of randomness.
        ratio: GraphCL's ``aug_ratio`` for the augmentations given by name (0.2).
        scheme: the batch's featurization scheme, needed by ``attr_mask`` given by name.
    """
    if isinstance(names, (str, Augmentation)) or len(names) != 2:
        raise ValueError(f"names must be a pair of augmentations, got {names!r}")
    first, second = (build_augmentation(name, ratio, scheme) for name in names)
    return first(batch, generator), second(batch, generator)


__all__ = ["AUGMENTATIONS", "Identity", "augment_pair", "build_augmentation", "get_augmentation"]
