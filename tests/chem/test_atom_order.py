"""Atom order: ``atom_order="canonical"`` gives every spelling of a molecule the same graph; ``"input"`` does not for stereo."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from molssl.chem.featurize import featurize, featurize_many
from molssl.chem.parse import ParseOptions, in_canonical_order
from molssl.data.catalog import load_moleculenet


def _stereo_molecules(n: int) -> list[str]:
    """The first ``n`` BBBP molecules with a tetrahedral centre or a stereo double bond."""
    found = []
    for smiles in load_moleculenet("bbbp").smiles:
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None and (any(a.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED for a in mol.GetAtoms())
                                or any(b.GetStereo() != Chem.BondStereo.STEREONONE for b in mol.GetBonds())):  # fmt: skip
            found.append(smiles)
        if len(found) == n:
            return found
    raise AssertionError("BBBP has fewer stereo molecules than asked")


def _spellings(smiles: str, n: int, seed: int) -> list[str]:
    return list(Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(smiles), n, randomSeed=seed))


def _arrays(graph) -> tuple[np.ndarray, ...]:
    return graph.x.numpy(), graph.edge_index.numpy(), graph.edge_attr.numpy()


def _same_graph(a, b) -> bool:
    return all(x.shape == y.shape and (x == y).all() for x, y in zip(_arrays(a), _arrays(b)))


def _chirality_multiset(graph) -> list[tuple[int, int]]:
    """(atom type, chirality tag) of every atom, sorted: what differs between spellings in input order."""
    return sorted(map(tuple, graph.x.numpy()[:, :2].tolist()))


@pytest.mark.parametrize("scheme", ["hu", "ogb"])
def test_canonical_order_gives_every_spelling_one_graph(scheme) -> None:
    molecules = _stereo_molecules(12)
    for k, smiles in enumerate(molecules):
        spellings = _spellings(smiles, 8, seed=k)
        reference = featurize(smiles, scheme, atom_order="canonical")
        result = featurize_many(spellings, scheme, atom_order="canonical")
        assert len(result) == len(spellings)
        assert all(_same_graph(graph, reference) for graph in result), smiles
        # featurize (the cached-record path) and featurize_many (the chunk path) agree
        assert all(_same_graph(featurize(s, scheme, atom_order="canonical"), reference) for s in spellings)


def test_input_order_chirality_follows_the_spelling() -> None:
    """The defect the option fixes: in input order, some spelling of some stereo molecule gets other chirality features."""
    molecules = _stereo_molecules(12)
    differs = 0
    for k, smiles in enumerate(molecules):
        reference = _chirality_multiset(featurize(smiles, "hu"))
        differs += sum(_chirality_multiset(g) != reference for g in featurize_many(_spellings(smiles, 8, seed=k), "hu"))
    assert differs > 0


def test_canonical_order_is_the_same_molecule() -> None:
    for smiles in _stereo_molecules(12) + ["CC(=O)[O-].[Na+]", "c1ccccc1O", "[2H]C([2H])([2H])O"]:
        mol = Chem.MolFromSmiles(smiles)
        again = in_canonical_order(mol)
        assert Chem.MolToSmiles(again) == Chem.MolToSmiles(mol)
        assert Chem.MolToInchiKey(again) == Chem.MolToInchiKey(mol)
        # same atoms, only renumbered: the multiset of (element, degree, charge, Hs) is unchanged
        atoms = lambda m: sorted((a.GetAtomicNum(), a.GetDegree(), a.GetFormalCharge(), a.GetTotalNumHs()) for a in m.GetAtoms())  # noqa: E731
        assert atoms(again) == atoms(mol)


def test_options_record_the_order_and_reject_unknown_ones() -> None:
    assert "atom_order" not in ParseOptions().describe()  # input order: the records of stores built before the option
    assert ParseOptions(atom_order="canonical").describe()["atom_order"] == "canonical"
    assert featurize_many(["CCO"], atom_order="canonical").parse_options["atom_order"] == "canonical"
    with pytest.raises(ValueError, match="atom_order must be one of"):
        ParseOptions(atom_order="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="atom_order must be one of"):
        featurize("CCO", atom_order="sorted")  # type: ignore[arg-type]


def test_bad_inputs_keep_their_reasons_in_canonical_order() -> None:
    result = featurize_many(["CCO", "C1CC", "c1ccccc1", "C(C)(C)(C)(C)C"], atom_order="canonical", on_error="skip")
    assert result.indices.tolist() == [0, 2]
    assert [s.index for s in result.skipped] == [1, 3]
    assert "syntax" in result.skipped[0].reason.lower() or "ring" in result.skipped[0].reason.lower()
    assert "valence" in result.skipped[1].reason.lower()
