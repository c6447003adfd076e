"""Featurization: OGB parity, the hu scheme against a hand-written reference, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ogb.utils import smiles2graph
from rdkit import Chem, rdBase

import molssl
from molssl.chem.errors import FeaturizationError
from tests.conftest import AWKWARD


def _parses(smiles: str) -> bool:
    with rdBase.BlockLogs():
        return bool(smiles) and Chem.MolFromSmiles(smiles) is not None


def _assert_same_as_ogb(smiles_list: list[str]) -> int:
    result = molssl.featurize_many(smiles_list, scheme="ogb", on_error="raise")
    assert len(result) == len(smiles_list)
    for i, smi in enumerate(smiles_list):
        ref = smiles2graph(smi)
        ours = result[i]
        assert np.array_equal(ours.x.numpy(), ref["node_feat"]), smi
        assert np.array_equal(ours.edge_index.numpy(), ref["edge_index"]), smi
        assert np.array_equal(ours.edge_attr.numpy(), ref["edge_feat"]), smi
        assert ours.num_nodes == ref["num_nodes"]
    return len(smiles_list)


def test_ogb_scheme_equals_smiles2graph_on_real_molecules(real_smiles):
    valid = [s for s in real_smiles if _parses(s)]
    assert _assert_same_as_ogb(valid) >= 1000


def test_ogb_scheme_equals_smiles2graph_on_awkward_molecules():
    valid = [s for s in AWKWARD if _parses(s)]
    assert len(valid) >= len(AWKWARD) - 2, "the awkward list should parse"
    _assert_same_as_ogb(valid)


def test_single_featurize_matches_batch_and_carries_smiles():
    data = molssl.featurize("CC(=O)[O-].[Na+]", scheme="ogb")
    ref = smiles2graph("CC(=O)[O-].[Na+]")
    assert data.smiles == "CC(=O)[O-].[Na+]"
    assert torch.equal(data.x, torch.from_numpy(ref["node_feat"]))
    assert data.x.dtype == torch.long and data.edge_index.dtype == torch.long


# --- hu scheme -----------------------------------------------------------------------------------

_HU_CHIRAL = [Chem.ChiralType.CHI_UNSPECIFIED, Chem.ChiralType.CHI_TETRAHEDRAL_CW, Chem.ChiralType.CHI_TETRAHEDRAL_CCW]
_HU_BONDS = [Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC]
_HU_DIRS = [Chem.BondDir.NONE, Chem.BondDir.ENDUPRIGHT, Chem.BondDir.ENDDOWNRIGHT]


def _hu_reference(smiles: str):
    """The Hu et al. featurization written out atom by atom, as the paper's loader does."""
    mol = Chem.MolFromSmiles(smiles)
    x = []
    for atom in mol.GetAtoms():
        z = atom.GetAtomicNum()
        tag = atom.GetChiralTag()
        x.append([z - 1 if z > 0 else 118, _HU_CHIRAL.index(tag) if tag in _HU_CHIRAL else 0])
    edges, attrs = [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        d = bond.GetBondDir()
        kind = bond.GetBondType()
        kind = Chem.BondType.SINGLE if kind == Chem.BondType.DATIVE else kind
        feat = [_HU_BONDS.index(kind), _HU_DIRS.index(d) if d in _HU_DIRS else 0]
        edges += [(i, j), (j, i)]
        attrs += [feat, feat]
    edge_index = np.array(edges, dtype=np.int64).T.reshape(2, -1)
    return np.array(x, dtype=np.int64), edge_index, np.array(attrs, dtype=np.int64).reshape(-1, 2)


def test_hu_scheme_matches_reference_on_real_and_awkward(real_smiles):
    smiles = [s for s in real_smiles[:1500] + AWKWARD if _parses(s)]
    result = molssl.featurize_many(smiles, scheme="hu")
    assert len(result) == len(smiles)
    for i, smi in enumerate(smiles):
        x, ei, ea = _hu_reference(smi)
        g = result[i]
        assert np.array_equal(g.x.numpy(), x), smi
        assert np.array_equal(g.edge_index.numpy(), ei), smi
        assert np.array_equal(g.edge_attr.numpy(), ea), smi


def test_hu_scheme_conventions():
    scheme = molssl.get_scheme("hu").spec
    assert scheme.atom_vocab == (120, 3) and scheme.bond_vocab == (6, 3)
    assert scheme.atom_mask_token == (119, 0) and scheme.bond_mask_token == (5, 0)
    assert scheme.self_loop_token == (4, 0)
    g = molssl.featurize("*C/C=C\\[C@H](F)Cl", scheme="hu")
    assert g.x[0, 0] == 118  # wildcard
    assert g.x[1, 0] == 5  # carbon: Z - 1
    assert set(g.x[:, 1].tolist()) <= {0, 1, 2} and (g.x[:, 1] > 0).sum() == 1
    assert {1, 2} <= set(g.edge_attr[:, 1].tolist())  # both / directions present
    # no feature value reaches a reserved token
    assert (g.x[:, 0] < 119).all() and (g.edge_attr[:, 0] < 4).all()


def test_hu_reports_unrepresentable_bond():
    with pytest.raises(FeaturizationError, match="QUADRUPLE.*scheme 'ogb'"):
        molssl.featurize("[Mo]$[Mo]", scheme="hu")
    assert molssl.featurize("[Mo]$[Mo]", scheme="ogb").edge_attr[0, 0] == 4  # OGB's 'misc' bond type
    # metal-ligand bonds that RDKit makes dative are single bonds in hu, as the reference saw them
    g = molssl.featurize("Cl[Pt](Cl)([NH3])[NH3]", scheme="hu")
    assert g.edge_attr[:, 0].tolist() == [0] * 8


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "smiles, reason",
    [
        ("C1CC(", "syntax error"),
        ("", "empty SMILES"),
        ("   ", "empty SMILES"),
        ("c1cccc1", "sanitization failed"),
        ("C(C)(C)(C)(C)C", "valence"),
        ("C1CC", "unclosed ring"),
        (None, "expected a SMILES string"),
    ],
)
def test_featurize_raises_value_error_naming_smiles_and_reason(smiles, reason):
    with pytest.raises(ValueError, match=reason) as info:
        molssl.featurize(smiles)
    assert repr(smiles) in str(info.value)


def test_featurize_many_raise_names_row_and_file():
    with pytest.raises(FeaturizationError) as info:
        molssl.featurize_many(["CCO", "CCN", "C1CC("], rows=[10, 11, 12], source="mols.csv")
    assert info.value.row == 12 and "mols.csv: row 12" in str(info.value) and "syntax error" in str(info.value)


def test_featurize_many_skip_reports_every_row(caplog):
    smiles = ["CCO", "", "not a smiles", "c1ccccc1", "C(C)(C)(C)(C)C", "O"] * 3
    result = molssl.featurize_many(smiles, scheme="ogb", on_error="skip", chunk_size=4)
    bad = [i for i, s in enumerate(smiles) if s in ("", "not a smiles", "C(C)(C)(C)(C)C")]
    assert [s.index for s in result.skipped] == bad
    assert result.num_skipped == 9 and len(result) == 9
    assert result.indices.tolist() == [i for i in range(len(smiles)) if i not in bad]
    assert all(s.reason for s in result.skipped)
    assert "skipped 9 of 18" in result.skipped_report() and "row 2: 'not a smiles'" in result.skipped_report()
    # the log names the first rows and their reasons for a CLI user, not a Python attribute
    assert "skipped 9 of 18 molecules: row 1: ''" in caplog.text and "row 2: 'not a smiles'" in caplog.text
    assert "and 6 more" in caplog.text and "FeaturizeResult" not in caplog.text
    # nothing lost: every input is either a graph or a skip record
    assert sorted(result.indices.tolist() + [s.index for s in result.skipped]) == list(range(len(smiles)))


def test_parallel_equals_serial(real_smiles):
    smiles = real_smiles[:600]
    serial = molssl.featurize_many(smiles, scheme="ogb", on_error="skip", chunk_size=100)
    parallel = molssl.featurize_many(smiles, scheme="ogb", on_error="skip", chunk_size=100, workers=2)
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert np.array_equal(getattr(serial.graphs, name), getattr(parallel.graphs, name))
    assert serial.indices.tolist() == parallel.indices.tolist()
    assert serial.skipped == parallel.skipped


def test_unknown_scheme_lists_valid_ones():
    with pytest.raises(ValueError, match="valid schemes: hu, ogb"):
        molssl.featurize("C", scheme="morgan")


def test_empty_input_gives_empty_result():
    result = molssl.featurize_many([], scheme="hu")
    assert len(result) == 0 and result.graphs.x.shape == (0, 2)
