"""An independent, per-node float64 implementation of the GNN of pretrain-gnns, read from its state dict.

Written from the equations of Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020)
as the released models compute them (snap-stanford/pretrain-gnns ``chem/model.py`` on PyG 1.0.3 and
torch-scatter 1.1.2), not from molssl's layers: plain loops over nodes and their edges, with the
reference's own parameter names. It keeps the reference's conventions where they differ from molssl's:

* messages are gathered at ``edge_index[0]`` from ``edge_index[1]`` (PyG 1.0.3: ``x_i`` is row 0 and
  aggregation is at row 0), and a self-loop (bond type 4, direction 0) is appended to every node;
* the GCN degree counts the rows of ``edge_index[0]`` (self-loop included);
* GAT's softmax is PyG 1.0.3's ``softmax`` over torch-scatter 1.1.2's ``scatter_max``: the shift is
  ``max(0, max score)``, because ``scatter_max`` starts from a zero-filled output, and 1e-16 joins the
  denominator;
* BatchNorm in evaluation mode (running statistics, eps 1e-5); ReLU after every layer but the last;
  JK "last"; no dropout (evaluation).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

SELF_LOOP_BOND = (4, 0)  # the reference's ``self_loop_attr[:, 0] = 4``
BN_EPS = 1e-5
LEAKY_SLOPE = 0.2
LEGACY_EPSILON = 1e-16


def _leaky(value: float) -> float:
    return value if value >= 0 else LEAKY_SLOPE * value


def _neighbours(edge_index: Tensor, edge_attr: Tensor, num_nodes: int) -> list[list[tuple[int, tuple[int, int]]]]:
    """For node i, every (j, bond features) of an edge with edge_index[0] = i, then the self-loop (i, (4, 0))."""
    out: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in range(num_nodes)]
    for k in range(edge_index.size(1)):
        i, j = int(edge_index[0, k]), int(edge_index[1, k])
        out[i].append((j, (int(edge_attr[k, 0]), int(edge_attr[k, 1]))))
    for i in range(num_nodes):
        out[i].append((i, SELF_LOOP_BOND))
    return out


def reference_node_representations(
    state: dict[str, Tensor], arch: str, x: Tensor, edge_index: Tensor, edge_attr: Tensor
) -> Tensor:
    """Node representations [N, D] of the pretrain-gnns ``GNN`` with weights ``state`` (eval mode, JK last).

    Args:
        state: the reference's state dict (``x_embedding1.weight``, ``gnns.0.…``, ``batch_norms.0.…``).
        arch: the reference's ``gnn_type``: ``"gin"``, ``"gcn"``, ``"graphsage"`` or ``"gat"``.
        x, edge_index, edge_attr: one (batched) graph featurized as in the reference loader.
    """
    w = {k: v.double() if v.is_floating_point() else v for k, v in state.items()}
    num_layers = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("gnns."))
    num_nodes = x.size(0)
    nbrs = _neighbours(edge_index, edge_attr, num_nodes)
    h = [w["x_embedding1.weight"][int(x[i, 0])] + w["x_embedding2.weight"][int(x[i, 1])] for i in range(num_nodes)]
    for layer in range(num_layers):
        p = f"gnns.{layer}."

        def bond(features: tuple[int, int]) -> Tensor:
            return w[p + "edge_embedding1.weight"][features[0]] + w[p + "edge_embedding2.weight"][features[1]]

        out = []
        if arch == "gin":
            for i in range(num_nodes):
                a = sum(h[j] + bond(f) for j, f in nbrs[i])
                hidden = torch.relu(w[p + "mlp.0.weight"] @ a + w[p + "mlp.0.bias"])
                out.append(w[p + "mlp.2.weight"] @ hidden + w[p + "mlp.2.bias"])
        elif arch in ("gcn", "graphsage"):
            lin = [w[p + "linear.weight"] @ h[j] + w[p + "linear.bias"] for j in range(num_nodes)]
            degree = [len(nbrs[j]) for j in range(num_nodes)]  # rows of edge_index[0], self-loop included
            for i in range(num_nodes):
                if arch == "gcn":
                    out.append(sum((lin[j] + bond(f)) / math.sqrt(degree[i] * degree[j]) for j, f in nbrs[i]))
                else:
                    mean = sum(lin[j] + bond(f) for j, f in nbrs[i]) / len(nbrs[i])
                    out.append(mean / max(float(mean.norm()), 1e-12))
        elif arch == "gat":
            heads = w[p + "att"].size(1)
            dim = w[p + "att"].size(2) // 2
            lin = [(w[p + "weight_linear.weight"] @ h[j] + w[p + "weight_linear.bias"]).view(heads, dim) for j in range(num_nodes)]
            for i in range(num_nodes):
                per_head = []
                for k in range(heads):
                    messages = [lin[j][k] + bond(f).view(heads, dim)[k] for j, f in nbrs[i]]
                    scores = [_leaky(float(w[p + "att"][0, k] @ torch.cat([lin[i][k], m]))) for m in messages]
                    shift = max(0.0, max(scores))
                    weights = [math.exp(s - shift) for s in scores]
                    total = sum(weights) + LEGACY_EPSILON
                    per_head.append(sum((wt / total) * m for wt, m in zip(weights, messages)))
                out.append(sum(per_head) / heads + w[p + "bias"])
        else:
            raise ValueError(f"unknown reference gnn_type {arch!r}")
        bn = f"batch_norms.{layer}."
        scale = w[bn + "weight"] / torch.sqrt(w[bn + "running_var"] + BN_EPS)
        h = [(o - w[bn + "running_mean"]) * scale + w[bn + "bias"] for o in out]
        if layer < num_layers - 1:
            h = [torch.relu(v) for v in h]
    return torch.stack(h)
