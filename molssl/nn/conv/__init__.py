"""Message-passing layers with bond features, one per file, and their registry.

Every conv has the same interface, so encoders can swap them by name:

* ``Conv(dim, bond_vocab, self_loop_token=None)``: built from a featurization scheme's ``bond_vocab``
  and ``self_loop_token`` (``FeaturizationSpec``); the conv owns its bond embedding, as in Hu et al.
  (2020) and OGB.
* ``conv(x, edge_index, edge_attr, order=None) -> [N, D]``: ``x`` [N, D] node states, ``edge_index``
  [2, E], ``edge_attr`` [E, F_bond] raw (long) bond features. Messages flow from ``edge_index[0]`` to
  ``edge_index[1]``; aggregation goes through ``molssl.ops.scatter`` with ``dim_size = x.size(0)``.
  ``order``, the ``molssl.ops.SegmentOrder`` of ``edge_index[1]``, is computed once per batch by the
  encoder when the Triton kernels run, and passed only then; a conv that appends self-loop edges
  extends it to them (``self_loops.self_loop_order``).
"""

from __future__ import annotations

from torch import nn

from molssl.nn.conv.gat import GATConv
from molssl.nn.conv.gcn import GCNConv
from molssl.nn.conv.gin import GINConv
from molssl.nn.conv.sage import SAGEConv
from molssl.registry import Registry

CONVS: Registry[type[nn.Module]] = Registry("conv", {"gin": GINConv, "gcn": GCNConv, "sage": SAGEConv, "gat": GATConv})


def get_conv(name: str) -> type[nn.Module]:
    """The conv class registered under ``name``."""
    return CONVS[name]


__all__ = ["CONVS", "GATConv", "GCNConv", "GINConv", "SAGEConv", "get_conv"]
