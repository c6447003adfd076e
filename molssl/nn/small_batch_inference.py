"""The default GIN's per-atom forward for a handful of molecules, without the training path's repeated work.

One SMILES -> prediction is a batch of ~20 atoms. The GIN's ten dense products are then about a third
of ``GNNEncoder``'s forward (one thread: ~1.5 of ~4.8 ms); the rest is small operations, many of them
repeated in every layer although their result does not change: the bond features are range-checked
again, each atom's incoming bond values are counted again for the bond embedding
(``CategoricalEmbedding.aggregate``: a scatter per feature column), the self-loop bond embedding is
looked up again, besides the module calls and checks that training needs. Here the features are checked
once, the adjacency and the bond counts are built once per batch in numpy (microseconds, where each
small torch operation costs tens on a loaded CPU), and the self-loop rows are kept until a bond table
changes; each layer then runs the same products and sums on the same values in the same order as the
plain forward, so the output is bitwise equal to ``readout(encoder(batch))`` (tested). Measured on one
MOSES molecule: ~3.7 vs ~4.8 ms (``benchmarks/predict_speed.py``'s latency parts record it per run).

It serves what ``colour_class_inference`` leaves to the per-atom forward (batches under its
``MIN_ATOMS``): the same configurations (``colour_class_inference.supports``: the Hu et al. GIN, eval
mode, no hooks), gradients off, fp32 on the CPU outside autocast (where ``neighbour_sum`` takes its
CSR product); ``embed_small_batch`` returns None otherwise (float64 too) and callers run the model as usual.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from molssl.nn.colour_class_inference import MIN_ATOMS, supports
from molssl.nn.fast_linear import run_mlp
from molssl.ops.adjacency import sparse_path_applies


_SELF_LOOPS: "weakref.WeakKeyDictionary[nn.Module, tuple[list, list[Tensor]]]" = weakref.WeakKeyDictionary()


def _self_loop_rows(encoder: nn.Module) -> list[Tensor]:
    """Each layer's self-loop bond embedding (``conv.self_loop(conv.bond_embedding)``, [1, D]), computed again only
    when a bond table changed (another tensor, or written in place: its version counter moved).

    Five lookups per call are a tenth of a one-molecule forward's operations; the rows depend on the weights alone.
    """
    tables = [table.weight for conv in encoder.convs for table in conv.bond_embedding.embeddings]
    key = [(table, table._version) for table in tables]
    cached = _SELF_LOOPS.get(encoder)
    if cached is not None and len(cached[0]) == len(key) and all(
        ref() is table and version == seen for (ref, seen), (table, version) in zip(cached[0], key)
    ):
        return cached[1]
    rows = [conv.self_loop(conv.bond_embedding) for conv in encoder.convs]
    _SELF_LOOPS[encoder] = ([(weakref.ref(table), version) for table, version in key], rows)
    return rows


def _batch_sums(edge_index: np.ndarray, edge_attr: np.ndarray, num_atoms: int, vocab: tuple[int, ...]) -> tuple[Tensor, list[Tensor]]:
    """The batch's adjacency and bond counts, built in numpy (a few microseconds a call where torch's small
    operations cost tens here): the same values as the plain forward's.

    The adjacency is ``molssl.ops.adjacency``'s CSR matrix ``A`` (entry [dst, src] per edge, each row's
    edges in their original order: a stable sort by target), so ``A @ h`` adds the same values in the same
    order; ``counts[k][i, v]`` is the number of atom i's incoming bonds whose column k holds v, the
    integers ``CategoricalEmbedding.aggregate`` counts (exact in float32).

    Shapes:
        edge_index: [2, E], edge_attr: [E, F_bond] (checked against ``vocab``) -> [N, N] sparse CSR, F_bond x [N, V_k]
    """
    src, dst = edge_index.astype(np.int64, copy=False)
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_atoms):
        raise ValueError(f"edge_index has a node outside [0, {num_atoms}); num_nodes must count every node of the batch")
    crow = np.zeros(num_atoms + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=num_atoms), out=crow[1:])
    columns = torch.from_numpy(src[np.argsort(dst, kind="stable")])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        adjacency = torch.sparse_csr_tensor(torch.from_numpy(crow), columns, torch.ones(len(src)), size=(num_atoms, num_atoms),
                                            check_invariants=False)  # fmt: skip
    counts = [
        torch.from_numpy(np.bincount(dst * size + edge_attr[:, k], minlength=num_atoms * size).astype(np.float32).reshape(num_atoms, size))
        for k, size in enumerate(vocab)
    ]
    return adjacency, counts


def embed_small_batch(encoder: nn.Module, readout: nn.Module | None, batch: Any) -> Tensor | None:
    """``readout(encoder(batch), ...)`` for a batch of fewer than ``MIN_ATOMS`` atoms; None where it does not apply.

    Per layer l: ``total = A @ h + sum_k counts_k @ bond_table_k^l + h + self-loop bond^l``, then the
    layer's MLP, BatchNorm and (but after the last layer) ReLU, where ``A`` [N, N] is the CSR adjacency
    ``neighbour_sum`` uses and ``counts_k`` [N, V_k] counts each atom's incoming bonds with value v in
    bond feature column k, the same exact integer counts the plain forward makes in every layer.

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E], batch.edge_attr: [E, F_bond], batch.batch: [N],
        batch.num_graphs: B -> [B, D]
    """
    x, edge_index, edge_attr = batch.x, batch.edge_index, batch.edge_attr
    graph = getattr(batch, "batch", None)
    if torch.is_grad_enabled() or graph is None or x.size(0) >= MIN_ATOMS or not supports(encoder, readout):
        return None
    h = encoder.atom_embedding(x)  # [N, D], range-checked
    if h.dtype != torch.float32 or not sparse_path_applies(h):  # autocast, float64, a GPU, a chosen Triton backend
        return None
    num_atoms = x.size(0)
    bonds = encoder.convs[0].bond_embedding
    bonds.check(edge_attr)  # every conv's bond vocabulary is the scheme's; the counts trust the values
    adjacency, counts = _batch_sums(edge_index.numpy(), edge_attr.numpy(), num_atoms, bonds.vocab)
    self_loops = _self_loop_rows(encoder)
    last = encoder.config.num_layers - 1
    for layer, (conv, norm) in enumerate(zip(encoder.convs, encoder.batch_norms)):
        bond_sum = None
        for column, table in zip(counts, conv.bond_embedding.embeddings):
            term = column @ table.weight
            bond_sum = term if bond_sum is None else bond_sum + term
        total = torch.sparse.mm(adjacency, h.contiguous()).add_(bond_sum)  # as GINConv: neighbours, bonds, self, self-loop bond
        total = total.add_(h).add_(self_loops[layer])
        h = norm(run_mlp(conv.mlp, total))
        if layer < last:
            h = torch.relu(h)
    return readout(h, graph, int(batch.num_graphs), getattr(batch, "ptr", None))


__all__ = ["embed_small_batch"]
