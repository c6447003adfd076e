"""Context prediction extraction against the reference's per-molecule networkx construction."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.graph.context import extract_context_pair, random_centers
from molssl.graph.subgraph import induced_subgraph
from tests.conftest import AWKWARD


def _reference_sets(data, center: int, k: int, r1: int, r2: int) -> tuple[set, set, set]:
    """Substructure, context and anchor atoms of one molecule as pretrain-gnns computes them."""
    g = nx.Graph()
    g.add_nodes_from(range(data.num_nodes))
    g.add_edges_from(data.edge_index.t().tolist())
    substructure = set(nx.single_source_shortest_path_length(g, center, k))
    inner = set(nx.single_source_shortest_path_length(g, center, r1))
    context = inner.symmetric_difference(nx.single_source_shortest_path_length(g, center, r2))
    return substructure, context, context & substructure


def _edges(piece_batch, index, graph: int, ptr_offset: int) -> set:
    """Edges of graph ``graph`` of a subgraph batch, in the original graph's local atom numbering."""
    e = piece_batch.edge_index[:, piece_batch.batch[piece_batch.edge_index[0]] == graph]
    return {(int(u) - ptr_offset, int(v) - ptr_offset) for u, v in index[e].t().tolist()}


@pytest.fixture(scope="module")
def mols(real_smiles):
    return molssl.featurize_many(AWKWARD + real_smiles[:250], scheme="hu", on_error="skip").graphs


@pytest.mark.parametrize(("k", "r1", "r2"), [(5, None, None), (2, None, None), (1, 0, 3), (3, 1, 2), (2, 4, 6)])
def test_node_sets_edges_and_anchors_equal_networkx(mols, k, r1, r2):
    batch = to_batch(mols)
    pair = extract_context_pair(batch, k, r1, r2, generator=torch.Generator().manual_seed(k))
    r1_ = k - 1 if r1 is None else r1
    r2_ = r1_ + 3 if r2 is None else r2
    sub, ctx = pair.substructure, pair.context
    assert sub.num_graphs == ctx.num_graphs == batch.num_graphs
    assert torch.equal(pair.substructure_index[pair.center], pair.center_atom)
    assert torch.equal(sub.batch[pair.center], torch.arange(batch.num_graphs))
    assert torch.equal(ctx.batch[pair.anchor], pair.anchor_batch)
    counts = {"context": 0, "none": 0, "anchorless": 0}
    for i, data in enumerate(batch.to_data_list()):
        lo = int(batch.ptr[i])
        center = int(pair.center_atom[i]) - lo
        assert 0 <= center < data.num_nodes
        ref_sub, ref_ctx, ref_anchor = _reference_sets(data, center, k, r1_, r2_)
        ours_sub = {int(a) - lo for a in pair.substructure_index[sub.ptr[i] : sub.ptr[i + 1]]}
        ours_ctx = {int(a) - lo for a in pair.context_index[ctx.ptr[i] : ctx.ptr[i + 1]]}
        ours_anchor = {int(pair.context_index[a]) - lo for a in pair.anchor[pair.anchor_batch == i]}
        assert (ours_sub, ours_ctx, ours_anchor) == (ref_sub, ref_ctx, ref_anchor), i
        assert int((pair.anchor_batch == i).sum()) == len(ref_anchor)  # no anchor twice
        g = nx.Graph(data.edge_index.t().tolist())
        g.add_nodes_from(range(data.num_nodes))
        for nodes, piece, index in ((ref_sub, sub, pair.substructure_index), (ref_ctx, ctx, pair.context_index)):
            induced = {(u, v) for u, v in g.subgraph(nodes).edges} | {(v, u) for u, v in g.subgraph(nodes).edges}
            assert _edges(piece, index, i, lo) == induced, i
        expected = bool(ref_ctx) and bool(ref_anchor)
        assert bool(pair.has_context[i]) == expected, i
        counts["context" if expected else "none"] += 1
        counts["anchorless"] += bool(ref_ctx) and not ref_anchor
    if r1_ < k:  # both kinds exercised; a context always reaches d = r1 + 1 <= K, so it has anchors
        assert counts["context"] > 50 and counts["none"] > 10 and counts["anchorless"] == 0
    else:  # rings beyond the substructure: contexts without anchors, excluded like the reference
        assert counts["context"] == 0 and counts["anchorless"] > 50
    # edge features travel with their bonds
    bond = {tuple(e): a for e, a in zip(batch.edge_index.t().tolist(), batch.edge_attr.tolist())}
    for piece, index in ((sub, pair.substructure_index), (ctx, pair.context_index)):
        original = index[piece.edge_index].t().tolist()
        assert [bond[tuple(e)] for e in original] == piece.edge_attr.tolist()


def test_hand_built_chain_and_ring():
    # decane C0..C9 (centre C2) and a 12-ring (centre atom 0)
    batch = to_batch(molssl.featurize_many(["CCCCCCCCCC", "C1CCCCCCCCCCC1"], scheme="hu").graphs)
    pair = extract_context_pair(batch, num_layers=2, center_atom=torch.tensor([2, 10]))
    # d on the chain from C2: 2 1 0 1 2 3 4 5 6 7; substructure d <= 2, context 1 < d <= 4, anchors d = 2
    assert pair.substructure_index.tolist()[:5] == [0, 1, 2, 3, 4]
    assert (pair.context_index[pair.context.batch == 0]).tolist() == [0, 4, 5, 6]
    assert pair.context_index[pair.anchor[pair.anchor_batch == 0]].tolist() == [0, 4]
    # ring of 12 from atom 0: d = min(j, 12 - j); context is atoms with d in 2..4 on both sides
    ring = (pair.context_index[pair.context.batch == 1] - 10).tolist()
    assert ring == [2, 3, 4, 8, 9, 10]
    assert pair.center.tolist() == [2, 5] and pair.has_context.tolist() == [True, True]
    # the context is induced: the two arcs are not joined, 2 x 2 bonds x 2 directions
    assert int((pair.context.batch[pair.context.edge_index[0]] == 1).sum()) == 8


def test_single_atoms_and_fragments():
    batch = to_batch(molssl.featurize_many(["[Na+]", "C", "CCCCCC.O", "O.CCCCCC"], scheme="hu").graphs)
    # centres: the lone atoms, the water of graph 2, the chain end of graph 3
    pair = extract_context_pair(batch, num_layers=1, center_atom=torch.tensor([0, 1, 8, 10]))
    assert pair.has_context.tolist() == [False, False, False, True]
    assert pair.substructure.ptr.tolist() == [0, 1, 2, 3, 5]
    assert pair.substructure_index.tolist() == [0, 1, 8, 10, 11]  # the BFS stays in the centre's fragment
    assert pair.context_index.tolist() == [11, 12, 13]  # d in (0, 3] along the chain, not the water
    assert pair.context.ptr.tolist() == [0, 0, 0, 0, 3]
    assert pair.center.tolist() == [0, 1, 2, 3]


def test_r1_minus_one_puts_the_centre_in_the_context():
    batch = to_batch(molssl.featurize_many(["CCCCC"], scheme="hu").graphs)
    pair = extract_context_pair(batch, num_layers=1, r1=-1, r2=1, center_atom=torch.tensor([0]))
    assert pair.context_index.tolist() == [0, 1] and pair.context_index[pair.anchor].tolist() == [0, 1]


def test_same_seed_same_centres_and_every_atom_can_be_drawn(mols):
    batch = to_batch(mols)
    draws = [extract_context_pair(batch, 3, generator=torch.Generator().manual_seed(s)).center_atom for s in (7, 7, 8)]
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    assert ((draws[0] >= batch.ptr[:-1]) & (draws[0] < batch.ptr[1:])).all()
    small = to_batch(molssl.featurize_many(["CCO", "c1ccccc1"], scheme="hu").graphs)
    gen = torch.Generator().manual_seed(0)
    seen = torch.stack([random_centers(small.ptr, gen) for _ in range(200)])
    assert set(seen[:, 0].tolist()) == {0, 1, 2} and set(seen[:, 1].tolist()) == set(range(3, 9))


def test_empty_graphs_in_the_batch():
    batch = to_batch(molssl.featurize_many(["CCCCCC", "CCO", "CC", "CCCCC"], scheme="hu").graphs)
    keep = torch.ones(batch.num_nodes, dtype=torch.bool)
    keep[6:11] = False  # graphs 1 and 2 lose every atom; the last graph stays
    holey, _ = induced_subgraph(batch, keep)
    assert holey.ptr.tolist() == [0, 6, 6, 6, 11]
    pair = extract_context_pair(holey, num_layers=1, generator=torch.Generator().manual_seed(0))
    assert pair.center_atom[1:3].tolist() == [-1, -1] and pair.center[1:3].tolist() == [-1, -1]
    assert pair.has_context.tolist()[1:3] == [False, False]
    assert pair.substructure.num_graphs == pair.context.num_graphs == 4
    assert pair.substructure.ptr[1] == pair.substructure.ptr[3]
    assert torch.equal(pair.substructure_index[pair.center[[0, 3]]], pair.center_atom[[0, 3]])
    nothing, _ = induced_subgraph(batch, torch.zeros(batch.num_nodes, dtype=torch.bool))
    pair = extract_context_pair(nothing, num_layers=2)
    assert pair.center.tolist() == [-1] * 4 and not pair.has_context.any() and pair.anchor.numel() == 0


def test_bad_radii_raise():
    batch = to_batch(molssl.featurize_many(["CCO"], scheme="hu").graphs)
    with pytest.raises(ValueError, match="num_layers"):
        extract_context_pair(batch, 0)
    with pytest.raises(ValueError, match="r1 < r2"):
        extract_context_pair(batch, 2, r1=3, r2=3)
    with pytest.raises(ValueError, match="center_atom"):
        extract_context_pair(batch, 2, center_atom=torch.tensor([0, 1]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu(mols):
    batch = to_batch(mols)
    centers = random_centers(batch.ptr, torch.Generator().manual_seed(0))
    cpu = extract_context_pair(batch, 5, center_atom=centers)
    gpu = extract_context_pair(batch.to("cuda"), 5, center_atom=centers.cuda())
    for name in ("substructure_index", "center", "context_index", "anchor", "anchor_batch", "has_context"):
        assert torch.equal(getattr(gpu, name).cpu(), getattr(cpu, name)), name
    for key in ("edge_index", "edge_attr", "ptr"):
        assert torch.equal(gpu.context[key].cpu(), cpu.context[key]), key
    cuda_gen = torch.Generator(device="cuda").manual_seed(0)
    assert extract_context_pair(batch.to("cuda"), 5, generator=cuda_gen).center_atom.is_cuda
