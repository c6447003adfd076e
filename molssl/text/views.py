"""Text view recipes for the modality-generic joint-embedding methods (``molssl.views``).

A text batch's views are made by its source, not on the device: writing a molecule from a random atom
ordering needs RDKit (``molssl.text.source.SmilesSource(randomize=True, views=2)``). The ``"randomized"``
recipe (registered also as ``"simclr"`` and ``"byol"``, so SimCLR and BYOL run on SMILES with their
defaults) hands out those views: a list of [B, L] id tensors, view ``v`` of molecule ``i`` in row ``i``,
which a ``SmilesTransformer`` encodes directly (padding is id 0).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from molssl.views import register_views


def randomized_views(batch: Any, generator: torch.Generator, **options: Any) -> list[Tensor]:
    """The randomized-SMILES views the source drew, [B, L] ids each.

    Raises:
        ValueError: the batch holds one view (open the source with ``randomize=True, views=2``), or options.
    """
    if options:
        raise ValueError(f"the text view recipe takes no options, got {sorted(options)}")
    if batch.views < 2:
        raise ValueError("a text batch with one view cannot make two views on the device: open the text source "
                         "with randomize=True, views=2")  # fmt: skip
    return [batch.view(v) for v in range(batch.views)]


for _recipe in ("randomized", "simclr", "byol"):
    register_views("text", _recipe, randomized_views)
