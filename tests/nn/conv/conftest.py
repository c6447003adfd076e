"""Raw conv inputs from real molecules: random node states, real edges and bond features."""

from __future__ import annotations

import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from tests.nn.conftest import molecules

DIM = 8


@pytest.fixture(scope="session", params=["hu", "ogb"])
def conv_inputs(request):
    """(scheme description, x [N, DIM] float64, edge_index, edge_attr) of a few molecules incl. single atoms."""
    scheme = request.param
    graphs = molecules(scheme, count=3)
    batch = to_batch(graphs)
    x = torch.randn(batch.num_nodes, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return molssl.get_spec(scheme), x, batch.edge_index, batch.edge_attr


def build(conv_cls, scheme: dict, **kwargs):
    """A float64 conv for ``scheme`` with non-trivial weights everywhere (biases, eps, BatchNorm stats)."""
    torch.manual_seed(0)
    conv = conv_cls(DIM, scheme.bond_vocab, scheme.self_loop_token, **kwargs).double()
    with torch.no_grad():
        for p in conv.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for m in conv.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    return conv.eval()


def incoming(edge_index: torch.Tensor, i: int) -> list[int]:
    """Edges entering node i."""
    return (edge_index[1] == i).nonzero().flatten().tolist()
