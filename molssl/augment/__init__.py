"""GraphCL's graph augmentations, batched and vectorized over a collated PyG ``Batch``.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020): node dropping
(``NodeDrop``), edge perturbation (``EdgePerturb``), attribute masking (``AttrMask``) and subgraph
sampling (``Subgraph``), plus ``Identity``; ``AUGMENTATIONS`` maps their names to them and
``augment_pair`` makes the two views GraphCL contrasts. Each runs on all graphs of a batch at once in
pure torch on the batch's device (no per-graph Python loop), takes a ``torch.Generator``, removes
exactly ``floor(n * ratio)`` atoms or bonds of each graph, and returns a well-formed batch with the
same ``num_graphs`` and per-graph attributes.

Where the related pieces live, one layer each (imports flow downwards):

* masking: ``molssl.ssl.masking`` draws which positions to hide (any modality);
  ``molssl.augment.masked_atoms`` writes the scheme's mask tokens into a molecule batch and keeps what
  was hidden as targets (for masked-attribute prediction); ``molssl.augment.attr_mask`` is GraphCL's
  masking augmentation (no targets); the methods that predict masked atoms are
  ``molssl.methods.attribute_masking`` and ``molssl.methods.graphmae``.
* subgraphs: ``molssl.graph.subgraph`` cuts a batch to given atoms or bonds (``induced_subgraph``,
  ``filter_edges``); ``molssl.augment.subgraph`` is GraphCL's random connected subgraph built on it;
  ``molssl.graph.context`` the K-hop neighbourhoods and contexts of context prediction.
"""

from molssl.augment.attr_mask import AttrMask
from molssl.augment.base import Augmentation
from molssl.augment.compose import (
    AUGMENTATIONS,
    Identity,
    augment_pair,
    build_augmentation,
    get_augmentation,
)
from molssl.augment.edge_perturb import EdgePerturb
from molssl.augment.node_drop import NodeDrop
from molssl.augment.subgraph import Subgraph

__all__ = [
    "AUGMENTATIONS",
    "AttrMask",
    "Augmentation",
    "EdgePerturb",
    "Identity",
    "NodeDrop",
    "Subgraph",
    "augment_pair",
    "build_augmentation",
    "get_augmentation",
]
