"""Murcko scaffolds: known answers, chirality, errors, and agreement with RDKit's reference call."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

import molssl
from molssl.chem.scaffold import murcko_scaffold
from tests.conftest import AWKWARD

MOLECULENET = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"


def reference_scaffold(smiles: str, include_chirality: bool = True) -> str:
    """The call pretrain-gnns' splitters.py makes."""
    return MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles, includeChirality=include_chirality)


def parsable(smiles: list[str]) -> list[str]:
    with rdBase.BlockLogs():
        return [s for s in smiles if Chem.MolFromSmiles(s) is not None]


@pytest.mark.parametrize(
    ("smiles", "scaffold"),
    [
        ("Cc1cc(Oc2nccc(CCC)c2)ccc1", "c1ccc(Oc2ccccn2)cc1"),  # side chains go, the O linker stays
        ("[Cl].CC(C)NCC(O)COc1cccc2ccccc12", "c1ccc2ccccc2c1"),  # salt: ringless fragment dropped
        ("c1ccccc1.c1ccncc1", "c1ccccc1.c1ccncc1"),  # two ring fragments both kept
        ("O=C1CCC(=O)N1", "O=C1CCC(=O)N1"),  # exocyclic double bonds belong to the scaffold
        ("C/C=C/c1ccccc1", "c1ccccc1"),
        ("[2H]c1ccccc1", "c1ccccc1"),
        ("CCO", ""),  # acyclic: the empty scaffold, as the reference returns
        ("CCCCCCCCCC(=O)O", ""),
        ("[Na+].[Cl-]", ""),
        ("C", ""),
    ],
)
def test_known_scaffolds(smiles: str, scaffold: str) -> None:
    assert murcko_scaffold(smiles) == scaffold


def test_molecules_sharing_a_core_share_a_scaffold() -> None:
    scaffolds = {murcko_scaffold(s) for s in ["Cc1ccccc1", "OCc1ccccc1", "c1ccccc1CCCCN", "Clc1ccccc1Br"]}
    assert scaffolds == {"c1ccccc1"}


def test_include_chirality() -> None:
    smiles = "C[C@H](N)c1ccccc1[C@H]1CCCN1c1ccccc1"  # the ring stereocentre survives, the chain one goes
    assert murcko_scaffold(smiles, include_chirality=True) == "c1ccc([C@H]2CCCN2c2ccccc2)cc1"
    assert murcko_scaffold(smiles, include_chirality=False) == "c1ccc(C2CCCN2c2ccccc2)cc1"
    assert murcko_scaffold(smiles) == murcko_scaffold(smiles, include_chirality=True)


def test_mol_input_matches_smiles_input() -> None:
    for smiles in ["Cc1cc(Oc2nccc(CCC)c2)ccc1", "C[C@H]1CC[C@@H](c2ccccc2)CC1", "CCO"]:
        mol = Chem.MolFromSmiles(smiles)
        for chirality in (True, False):
            assert murcko_scaffold(mol, chirality) == murcko_scaffold(smiles, chirality)


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("C1CC", "SMILES syntax error"),  # unclosed ring
        ("CC(C", "SMILES syntax error"),
        ("CN(C)(C)(C)C", "RDKit sanitization failed"),  # pentavalent neutral N
        ("c1cccc1", "RDKit sanitization failed"),  # cannot kekulize
        ("", "empty SMILES"),
    ],
)
def test_unparsable_smiles_raise_with_smiles_and_reason(smiles: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        murcko_scaffold(smiles)
    assert repr(smiles) in str(info.value)
    assert reason in str(info.value)


def test_non_string_input_raises() -> None:
    with pytest.raises(ValueError, match="SMILES string or an RDKit Mol"):
        murcko_scaffold(None)  # type: ignore[arg-type]


def test_awkward_molecules_match_reference() -> None:
    checked = 0
    for smiles in parsable(AWKWARD):
        with rdBase.BlockLogs():
            expected = reference_scaffold(smiles) or ""
        if Chem.MolFromSmiles(smiles).GetNumAtoms() == 0:
            continue  # no atoms: rejected by design, like the featurizer rejects it
        assert murcko_scaffold(smiles) == expected, smiles
        checked += 1
    assert checked > 50


def test_bace_matches_reference_call() -> None:
    with open(MOLECULENET / "bace.csv", newline="") as fh:
        smiles = parsable([row["mol"] for row in csv.DictReader(fh)])[:600]  # enough, and fast
    assert len(smiles) == 600
    stereo = 0
    with rdBase.BlockLogs():
        for s in smiles:
            with_stereo = murcko_scaffold(s, include_chirality=True)
            assert with_stereo == reference_scaffold(s, True), s
            stereo += "@" in with_stereo
    assert stereo > 100  # BACE scaffolds carry ring stereocentres, so the flag is exercised


# --- parsed as the featurizer parses (issue 11) ----------------------------------------------------

ALQ3 = "c7cc8O[Al]14(Oc2cccc3cccn->1c23)(Oc5cccc6cccn->4c56)<-n9cccc(c7)c89"  # fails RDKit's valence check


def test_scaffold_rejects_what_the_featurizer_rejects():
    with pytest.raises(ValueError, match="whitespace"):  # RDKit alone reads 'c1ccccc1' and drops the name
        murcko_scaffold("c1ccccc1 benzene")
    with pytest.raises(ValueError, match="non-ASCII"):
        murcko_scaffold("c1ccccc1é")
    assert murcko_scaffold("  c1ccccc1CC\n") == "c1ccccc1"


def test_lenient_scaffold_of_a_molecule_only_lenient_sanitization_keeps():
    with pytest.raises(ValueError, match="valence"):
        murcko_scaffold(ALQ3)
    scaffold = murcko_scaffold(ALQ3, sanitize="lenient")
    assert scaffold == murcko_scaffold(ALQ3, sanitize="lenient")
    # Alq3 has no side chain: its scaffold is the whole molecule
    assert "Al" in scaffold and molssl.featurize(scaffold, sanitize="lenient").num_nodes == 34
    assert murcko_scaffold("O=C(O)c1ccccc1", sanitize="lenient") == murcko_scaffold("O=C(O)c1ccccc1")
