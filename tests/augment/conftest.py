"""Molecule batches for the augmentation tests, and the checks that an augmented batch is well formed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

import molssl
from molssl.graph.arrays import GraphArrays
from molssl.graph.batch import to_batch
from tests.conftest import AWKWARD, moleculenet_smiles

# hand-built: single atoms, a salt and a mixture (disconnected), rings, a chain, stereo, charges
HAND_BUILT = [
    "C", "[Na+]", "CCO", "CC(=O)[O-].[Na+]", "C1CC1.C1CC1.O", "c1ccccc1", "CCCCCCCCCC", "F/C=C/F",
    "C[N+](C)(C)CC([O-])=O", "Cl[Pt](Cl)([NH3])[NH3]", "CC(C)(C)C", "c1ccc2cc3ccccc3cc2c1", "[NH4+].[Cl-]",
]  # fmt: skip


def featurized(smiles: Sequence[str], scheme: str = "hu") -> tuple[list[str], GraphArrays]:
    """The SMILES that featurize with ``scheme`` and their graphs."""
    result = molssl.featurize_many(list(smiles), scheme=scheme, on_error="skip")
    return [smiles[i] for i in result.indices], result.graphs


def batch_of(graphs: GraphArrays) -> Batch:
    """A batch with a per-graph target ``y`` (graph i has y = i) to follow through the augmentations."""
    return to_batch(graphs, {"y": torch.arange(len(graphs), dtype=torch.float32).view(-1, 1)})


def rdkit_counts(smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and bonds of every molecule, from RDKit (independently of molssl's featurization)."""
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    return np.array([m.GetNumAtoms() for m in mols]), np.array([m.GetNumBonds() for m in mols])


def expected_count(sizes: np.ndarray, ratio: float) -> np.ndarray:
    """GraphCL's count, written as the reference writes it: ``int(n * aug_ratio)`` per graph."""
    return np.array([int(int(n) * ratio) for n in sizes])


class Molecules:
    """SMILES, graphs, RDKit atom and bond counts, and a fresh batch of a list of molecules."""

    def __init__(self, smiles: Sequence[str], scheme: str = "hu") -> None:
        self.smiles, self.graphs = featurized(smiles, scheme)
        self.atoms, self.bonds = rdkit_counts(self.smiles)

    def batch(self) -> Batch:
        return batch_of(self.graphs)


@pytest.fixture(scope="session")
def hand_built() -> Molecules:
    return Molecules(HAND_BUILT)


@pytest.fixture(scope="session")
def awkward() -> Molecules:
    return Molecules(AWKWARD)


@pytest.fixture(scope="session")
def real() -> Molecules:
    """About 300 real molecules (BBBP, ClinTox, ESOL), salts and mixtures among them."""
    smiles = moleculenet_smiles("bbbp", 150) + moleculenet_smiles("clintox", 80) + moleculenet_smiles("esol", 80)
    return Molecules(smiles)


def assert_well_formed(out: Batch, original: Batch) -> None:
    """``out`` is a valid batch of the same graphs as ``original`` (same count, same ``y``).

    Checks ``ptr``/``batch`` consistency, edges inside range and inside one graph, grouped by graph,
    both directions of every bond as consecutive edges with equal features, no self-loops or
    duplicate bonds, ``edge_attr`` aligned, the slice bookkeeping, and PyG's own unbatching.
    """
    num_graphs = original.num_graphs
    assert out.num_graphs == num_graphs
    assert torch.equal(out.y, original.y)
    num_atoms = out.x.shape[0]
    assert out.x.dtype == original.x.dtype and out.x.shape[1] == original.x.shape[1]
    ptr = out.ptr
    assert ptr.shape == (num_graphs + 1,) and int(ptr[0]) == 0 and int(ptr[-1]) == num_atoms
    assert bool((ptr.diff() >= 0).all())
    assert torch.equal(out.batch, torch.repeat_interleave(torch.arange(num_graphs), ptr.diff()))
    edge_index, edge_attr = out.edge_index, out.edge_attr
    num_edges = edge_index.shape[1]
    assert edge_index.dtype == torch.long and edge_attr.shape == (num_edges, original.edge_attr.shape[1])
    if num_edges:
        assert int(edge_index.min()) >= 0 and int(edge_index.max()) < num_atoms
    source_graph, target_graph = out.batch[edge_index[0]], out.batch[edge_index[1]]
    assert torch.equal(source_graph, target_graph), "an edge joins two graphs"
    assert bool((source_graph.diff() >= 0).all()), "edges are not grouped by graph"
    assert num_edges % 2 == 0
    assert torch.equal(edge_index[:, 0::2], edge_index.flip(0)[:, 1::2]), "a bond lost one direction"
    assert torch.equal(edge_attr[0::2], edge_attr[1::2]), "the two directions of a bond differ"
    assert bool((edge_index[0] != edge_index[1]).all()), "self-loop"
    bonds = {tuple(sorted(pair)) for pair in edge_index[:, 0::2].t().tolist()}
    assert len(bonds) == num_edges // 2, "duplicate bond"
    edge_ptr = torch.zeros(num_graphs + 1, dtype=torch.long)
    edge_ptr[1:] = torch.cumsum(torch.bincount(source_graph, minlength=num_graphs), 0)
    assert torch.equal(out._slice_dict["x"], ptr)
    assert torch.equal(out._slice_dict["edge_index"], edge_ptr)
    assert torch.equal(out._slice_dict["edge_attr"], edge_ptr)
    graphs = out.to_data_list()
    assert len(graphs) == num_graphs
    for i in (0, num_graphs // 2, num_graphs - 1):
        assert torch.equal(graphs[i].x, out.x[ptr[i] : ptr[i + 1]])
        assert torch.equal(graphs[i].edge_index, edge_index[:, edge_ptr[i] : edge_ptr[i + 1]] - ptr[i])


#: the tensors of a batch that the augmentation tests compare
BATCH_KEYS = ("x", "edge_index", "edge_attr", "batch", "ptr", "y")


def assert_unchanged(batch: Batch, copy: dict[str, torch.Tensor]) -> None:
    """``batch`` still holds the tensors saved in ``copy`` (an augmentation must not modify its input)."""
    for key, value in copy.items():
        assert torch.equal(batch[key], value), key


def snapshot(batch: Batch) -> dict[str, torch.Tensor]:
    return {key: batch[key].clone() for key in BATCH_KEYS}


def checked_view(augmentation, batch: Batch) -> Batch:
    """``augmentation(batch)`` with seed 0, after checking that it left ``batch`` as it was and is well formed."""
    before = snapshot(batch)
    out = augmentation(batch, generator(0))
    assert_unchanged(batch, before)
    assert_well_formed(out, batch)
    return out


def checked_atom_removal(augmentation, mols: Molecules) -> tuple[Batch, Batch, torch.Tensor]:
    """``(batch, view, kept atoms)`` of an ``AtomRemoval`` on ``mols``, after the checks every one must pass.

    ``checked_view``, ``n - int(n * ratio)`` atoms left in every graph, and the view is the subgraph
    induced by ``augmentation.kept_atoms`` (drawn again with the same seed).
    """
    batch = mols.batch()
    out = checked_view(augmentation, batch)
    assert out.ptr.diff().tolist() == (mols.atoms - expected_count(mols.atoms, augmentation.ratio)).tolist()
    kept = augmentation.kept_atoms(batch, generator(0)).nonzero().view(-1)
    assert_induced_subgraph(out, batch, kept)
    return batch, out, kept


def assert_same_batch(out: Batch, expected: Batch) -> None:
    """``out`` and ``expected`` hold equal tensors under every key of ``BATCH_KEYS``."""
    for key in BATCH_KEYS:
        assert torch.equal(out[key], expected[key]), key


def assert_induced_subgraph(out: Batch, batch: Batch, kept: torch.Tensor) -> None:
    """``out`` is the subgraph of ``batch`` induced by the atoms ``kept`` (increasing global indices).

    Same atom features, exactly the bonds among the kept atoms, and each with its own bond features.
    """
    assert torch.equal(out.x, batch.x[kept])
    bonds = original_bonds(batch)
    kept_set = set(kept.tolist())
    induced = {(a, b) for (a, b) in bonds if a in kept_set and b in kept_set}
    got = {(int(kept[a]), int(kept[b])) for a, b in out.edge_index.t().tolist()}
    assert got == induced
    for (a, b), attr in zip(out.edge_index.t().tolist(), out.edge_attr.tolist()):
        assert bonds[(int(kept[a]), int(kept[b]))] == tuple(attr)


def original_bonds(batch: Batch) -> dict[tuple[int, int], tuple[int, ...]]:
    """Bond features of every bond of ``batch``, keyed by its (begin, end) atoms in both orders."""
    out = {}
    for (a, b), attr in zip(batch.edge_index.t().tolist(), batch.edge_attr.tolist()):
        out[(a, b)] = tuple(attr)
    return out


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
