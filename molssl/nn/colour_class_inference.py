"""GIN inference once per Weisfeiler-Leman colour class instead of once per atom.

In a message-passing layer whose messages depend only on the sender's state and the bond (the GIN of
Hu et al. 2020), an atom's state after layer l is a function of its colour after l rounds of 1-WL
refinement (Weisfeiler & Leman 1968; Xu et al., "How Powerful are Graph Neural Networks?", ICLR 2019,
Lemma 2): its own atom features and the multiset of its neighbours' (previous colour, bond features).
Atoms of one colour have equal states, so each layer's MLP needs one row per colour, not per atom. In a
batch of 128 MOSES molecules (2,641 atoms) the five layers have 104, 648, 1,374, 1,850 and 2,100
colours: the dense products, which are most of the forward, shrink to about 46% of their rows. With a
mean readout the last layer's second ``Linear`` and its BatchNorm (both affine) move after the pooling
and run on one row per graph.

The colours are computed exactly (``np.unique`` over padded, sorted neighbour signatures; no hashing),
so the result equals the per-atom forward up to the order of floating-point sums. Only inference uses
it (gradients off, modules in eval mode), on the CPU, for the configurations ``supports`` accepts;
``embed_by_colour_classes`` returns None otherwise and callers run the model as usual.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from molssl.nn.conv.gin import GINConv
from molssl.nn.encoder import GNNEncoder
from molssl.nn.fast_linear import run_mlp
from molssl.nn.readout import MeanReadout, SumReadout


MIN_ATOMS = 128
"""Smaller batches run the per-atom forward: a handful of molecules has few repeated colours, and the
refinement's fixed cost is then not repaid (one thread, default GIN, MOSES molecules, ms per batch
per-atom vs per colour: 1 molecule 5.1 vs 6.1, 4 molecules 8.6 vs 8.7, 8 molecules 13.2 vs 11.9,
32 molecules 45.3 vs 27.2)."""


@dataclass(frozen=True)
class ColourClasses:
    """The 1-WL colours of every atom of a batch, round by round.

    Attributes:
        colours: ``colours[l][i]`` is atom i's colour after l rounds, in ``[0, counts[l])``; round 0 is
            the atom's feature row. ``l`` runs from 0 to the number of layers.
        first: ``first[l][c]`` is the first atom of colour c after l rounds (the class's representative).

    Shapes:
        colours[l]: [N]; first[l]: [counts[l]]
    """

    colours: list[np.ndarray]
    first: list[np.ndarray]

    @property
    def counts(self) -> list[int]:
        """Number of colours after each round."""
        return [len(f) for f in self.first]


def _classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class of each row, first row of each class) for the equal rows of an integer matrix.

    Column by column: the classes of the columns so far (renumbered densely, so below N) times the
    next column's range plus its value is an exact code of the pair, far inside int64; 1-D ``np.unique``
    is several times faster than ``np.unique(axis=0)`` on the same rows.

    Shapes:
        rows: [N, W] (integers >= -1) -> [N], [number of classes]
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    code = rows[:, 0].astype(np.int64)
    for k in range(1, rows.shape[1]):
        column = rows[:, k].astype(np.int64) + 1
        _, code = np.unique(code, return_inverse=True)
        code = code * (int(column.max()) + 1) + column
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def colour_classes(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, rounds: int) -> ColourClasses:
    """1-WL colour refinement of the atoms, messages along ``edge_index[0] -> edge_index[1]``.

    An atom's colour after round l is the class of (its colour after round l - 1, the sorted list of
    (sender's colour after round l - 1, bond feature row) over its incoming edges), compared exactly.

    Shapes:
        x: [N, F_atom], edge_index: [2, E] (global), edge_attr: [E, F_bond] (integers)
    """
    num_atoms = len(x)
    colour, first = _classes(x)
    colours, firsts = [colour], [first]
    bond, _ = _classes(edge_attr)
    num_bonds = int(bond.max()) + 1 if len(bond) else 1
    src, dst = edge_index
    degree = np.bincount(dst, minlength=num_atoms)
    width = int(degree.max()) + 1 if num_atoms else 1
    starts = np.cumsum(degree) - degree  # [N]: first slot of each atom's incoming edges in dst order
    for _ in range(rounds):
        key = colour[src] * num_bonds + bond  # [E]: what the edge brings to its target
        order = np.lexsort((key, dst))  # by target, then key: each atom's multiset as a sorted run
        targets = dst[order]
        signature = np.full((num_atoms, width), -1, dtype=np.int64)  # [N, 1 + max in-degree]
        signature[:, 0] = colour
        signature[targets, 1 + np.arange(len(order)) - starts[targets]] = key[order]
        colour, first = _classes(signature)
        colours.append(colour)
        firsts.append(first)
    return ColourClasses(colours, firsts)


def _plain_modules() -> tuple[type, ...]:
    from molssl.nn.conv.self_loops import SelfLoopEmbedding
    from molssl.nn.dropout import Dropout
    from molssl.nn.embeddings import AtomEmbedding, BondEmbedding
    from molssl.nn.onednn import OneDNNLinear

    return (GNNEncoder, AtomEmbedding, BondEmbedding, SelfLoopEmbedding, GINConv, Dropout, OneDNNLinear, nn.Linear,
            nn.ReLU, nn.BatchNorm1d, nn.Embedding, nn.ModuleList, nn.Sequential, MeanReadout, SumReadout)  # fmt: skip


def supports(encoder: nn.Module, readout: nn.Module | None) -> bool:
    """Whether ``embed_by_colour_classes`` computes ``readout(encoder(batch))`` for these modules.

    That is: a ``GNNEncoder`` of GIN layers in the Hu et al. form (self-loop bond token, MLP
    Linear-ReLU-Linear), jumping knowledge "last", no virtual node, no residual, a mean or sum readout,
    everything in eval mode, and nothing else: no module of another type and no forward hook (PEFT
    adapters, prompts and LoRA act through those, and would not be seen here).
    """
    if type(encoder) is not GNNEncoder or type(readout) not in (MeanReadout, SumReadout):
        return False
    config = encoder.config
    if config.jk != "last" or config.virtual_node or config.residual:
        return False
    plain = _plain_modules()
    for module in (*encoder.modules(), readout):
        if type(module) not in plain or module.training or module._forward_hooks or module._forward_pre_hooks:
            return False
        if type(module) is nn.BatchNorm1d and module.running_mean is None:  # batch statistics even in eval
            return False
    for conv in encoder.convs:
        mlp = list(conv.mlp)
        if conv.variant != "hu" or len(mlp) != 3 or type(mlp[1]) is not nn.ReLU or type(mlp[0]) is nn.ReLU or type(mlp[2]) is nn.ReLU:
            return False
    return True


def _sum_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], scale: np.ndarray | None = None) -> Tensor:
    """The sparse CSR matrix whose (r, c) entry counts the pairs (rows[k], cols[k]) = (r, c), times
    ``scale[r]`` if given: ``matrix @ h`` sums (and weights) rows of ``h`` without an [E, D] gather.

    Built with numpy (one thread, no parallel region per call: on an oversubscribed CPU a torch
    ``index_add_`` with two threads took ~45 ms per call here).

    Shapes:
        rows, cols: [K] -> [shape[0], shape[1]] (float32)
    """
    keys, counts = np.unique(rows * shape[1] + cols, return_counts=True)  # sorted: row-major CSR order
    row = keys // shape[1]
    values = counts.astype(np.float32) if scale is None else (counts * scale[row]).astype(np.float32)
    crow = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=shape[0]), out=crow[1:])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(keys % shape[1]), torch.from_numpy(values),
                                       size=shape, check_invariants=False)  # fmt: skip


def _times(matrix: Tensor, h: Tensor) -> Tensor:
    """``matrix @ h`` in float32, autocast off (the CPU sparse product has no bfloat16 kernel; the next
    ``Linear`` casts under autocast as it would have)."""
    with torch.autocast("cpu", enabled=False):
        return matrix @ h.float()


def embed_by_colour_classes(encoder: nn.Module, readout: nn.Module | None, batch: Any) -> Tensor | None:
    """``readout(encoder(batch), ...)``, computed once per colour class; None where it does not apply.

    It applies when ``supports(encoder, readout)``, gradients are off and the batch is on the CPU with
    at least ``MIN_ATOMS`` atoms. Per layer l, with ``H`` the states of the previous round's colours:
    ``total = M_l @ H + C_l @ bond tables + self-loop bond``, where ``M_l`` [C_l, C_{l-1}] counts each
    class representative's incoming senders by colour plus its own previous colour, and ``C_l`` [C_l,
    sum of bond vocabularies] counts its incoming bonds' feature values (``CategoricalEmbedding.aggregate``'s
    count-matrix form); then the layer's MLP, BatchNorm and ReLU on C_l rows.

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E], batch.edge_attr: [E, F_bond], batch.batch: [N],
        batch.num_graphs: B -> [B, D]
    """
    x, edge_index, edge_attr = batch.x, batch.edge_index, batch.edge_attr
    if torch.is_grad_enabled() or x.device.type != "cpu" or x.size(0) < MIN_ATOMS or not supports(encoder, readout):
        return None
    graph = getattr(batch, "batch", None)
    num_graphs = int(batch.num_graphs) if graph is not None else 1
    graph = graph.numpy() if graph is not None else np.zeros(x.size(0), dtype=np.int64)
    num_layers = encoder.config.num_layers
    bonds = encoder.convs[0].bond_embedding
    bonds.check(edge_attr)  # every conv's bond vocabulary is the scheme's; the counts below trust the values
    classes = colour_classes(x.numpy(), edge_index.numpy(), edge_attr.numpy(), num_layers)
    src, dst = edge_index.numpy()
    codes = edge_attr.numpy() + bonds._starts.numpy()  # [E, F_bond]: each column's values in its block of the stacked tables
    num_codes = sum(bonds.vocab)
    h = encoder.atom_embedding(x[torch.from_numpy(classes.first[0])])  # [C_0, D]
    for layer in range(num_layers):
        conv, norm = encoder.convs[layer], encoder.batch_norms[layer]
        colour, previous, first = classes.colours[layer + 1], classes.colours[layer], classes.first[layer + 1]
        count = len(first)
        is_first = np.zeros(x.size(0), dtype=bool)
        is_first[first] = True
        edges = np.flatnonzero(is_first[dst])  # the incoming edges of each class's representative
        targets = colour[dst[edges]]
        senders = _sum_matrix(np.concatenate([targets, np.arange(count)]), np.concatenate([previous[src[edges]], previous[first]]),
                              (count, len(h)))  # fmt: skip
        bond_counts = np.bincount((targets[:, None] * num_codes + codes[edges]).ravel(), minlength=count * num_codes)
        tables = torch.cat([table.weight for table in conv.bond_embedding.embeddings])  # [sum V_k, D]
        bond_sums = torch.from_numpy(bond_counts.reshape(count, num_codes).astype(np.float32))
        with torch.autocast("cpu", enabled=False):
            total = _times(senders, h).addmm_(bond_sums, tables.float())
        total.add_(conv.self_loop(conv.bond_embedding))  # the self-loop bond of every atom
        if layer < num_layers - 1:
            h = torch.relu(norm(run_mlp(conv.mlp, total)))
            continue
        # last layer: pool the classes into graphs (weight = atoms of the class in the graph)
        atoms = np.bincount(graph, minlength=num_graphs)
        if type(readout) is MeanReadout:
            pool = _sum_matrix(graph, colour, (num_graphs, count), scale=1.0 / np.maximum(atoms, 1))
            # mean and the affine maps after the hidden ReLU commute: Linear(2D, D) and BatchNorm run per graph
            out = norm(conv.mlp[2](_times(pool, run_mlp(conv.mlp[:2], total))))
            return out.masked_fill_(torch.from_numpy(atoms == 0)[:, None], 0.0)  # a graph without atoms pools to 0, as MeanReadout
        return _times(_sum_matrix(graph, colour, (num_graphs, count)), norm(run_mlp(conv.mlp, total)))
    raise AssertionError("unreachable: the loop returns at the last layer")


__all__ = ["MIN_ATOMS", "ColourClasses", "colour_classes", "embed_by_colour_classes", "supports"]
