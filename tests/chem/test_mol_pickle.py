"""The vectorized decoder of RDKit's binary pickle itself: header, version gate, fields against hand-derived values."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from rdkit import Chem

import molssl.chem.mol_pickle as mol_pickle
from molssl.chem.mol_pickle import (
    PICKLE_OPTIONS,
    SUPPORTED_VERSIONS,
    PickleChunk,
    decode_chunk,
    installed_header,
    installed_pickle_version,
    installed_version_supported,
)

SP3, SP2 = int(Chem.HybridizationType.SP3), int(Chem.HybridizationType.SP2)
CCW = int(Chem.ChiralType.CHI_TETRAHEDRAL_CCW)
SINGLE, DOUBLE, AROMATIC = (int(Chem.BondType.SINGLE), int(Chem.BondType.DOUBLE), int(Chem.BondType.AROMATIC))


def pickles(*smiles: str) -> list[bytes]:
    return [Chem.MolFromSmiles(s).ToBinary(PICKLE_OPTIONS) for s in smiles]


def test_installed_version_is_read_from_the_pickle_header():
    header = pickles("C")[0][:20]
    magic, tag, *version = struct.unpack("<Ii3i", header)
    assert (magic, tag) == (0xDEADBEEF, 0) and tuple(version) == installed_pickle_version()
    assert installed_version_supported() == (tuple(version) in SUPPORTED_VERSIONS)
    assert installed_header() == (header if installed_version_supported() else None)


def test_only_supported_versions_are_decoded(monkeypatch):
    chunk = PickleChunk.from_pickles(pickles("CCO", "c1ccccc1"))
    monkeypatch.setattr(mol_pickle, "SUPPORTED_VERSIONS", frozenset())
    decoded = decode_chunk(chunk)
    assert not decoded.ok.any()
    assert decoded.atom_ptr.tolist() == [0, 0, 0]  # a header it does not support gives no rows at all


@pytest.mark.pickle_fast_path
def test_fields_of_a_stereocentre_equal_hand_derived_values():
    # C[C@H](N)O: atoms C0 C1 N2 O3, bonds 0-1 1-2 1-3 (RDKit order); values written out by hand
    decoded = decode_chunk(PickleChunk.from_pickles(pickles("C[C@H](N)O")))
    assert decoded.ok.tolist() == [True]
    atoms, bonds = decoded.atoms, decoded.bonds
    assert atoms["atomic_num"].tolist() == [6, 6, 7, 8]
    assert atoms["chiral_tag"].tolist() == [0, CCW, 0, 0]
    assert atoms["total_num_hs"].tolist() == [3, 1, 2, 1]
    assert atoms["total_degree"].tolist() == [4, 4, 3, 2]
    assert atoms["hybridization"].tolist() == [SP3] * 4
    assert atoms["formal_charge"].tolist() == [0] * 4 and atoms["num_radical_electrons"].tolist() == [0] * 4
    assert atoms["is_aromatic"].tolist() == [0] * 4 and atoms["is_in_ring"].tolist() == [0] * 4
    assert bonds["begin"].tolist() == [0, 1, 1] and bonds["end"].tolist() == [1, 2, 3]
    assert bonds["bond_type"].tolist() == [SINGLE] * 3


@pytest.mark.pickle_fast_path
def test_fields_of_charged_aromatic_and_labelled_atoms():
    # [O-]c1ccccc1 . [13CH3:7][NH3+] . [Na+]: charges, aromatic ring, isotope + map number on one atom
    smiles = ["[O-]c1ccccc1", "[13CH3:7][NH3+]", "[Na+]", "C=C"]
    decoded = decode_chunk(PickleChunk.from_pickles(pickles(*smiles)))
    assert decoded.ok.all() and decoded.atom_ptr.tolist() == [0, 7, 9, 10, 12]
    atoms, bonds = decoded.atoms, decoded.bonds
    assert atoms["formal_charge"].tolist() == [-1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert atoms["is_aromatic"].tolist() == [0] + [1] * 6 + [0] * 5
    assert atoms["is_in_ring"].tolist() == [0] + [1] * 6 + [0] * 5
    assert atoms["hybridization"][:7].tolist() == [SP2] * 7
    assert atoms["total_num_hs"].tolist() == [0, 0, 1, 1, 1, 1, 1, 3, 3, 0, 2, 2]
    assert decoded.bond_ptr.tolist() == [0, 7, 8, 8, 9]
    assert bonds["bond_type"].tolist() == [SINGLE] + [AROMATIC] * 6 + [SINGLE, DOUBLE]


@pytest.mark.pickle_fast_path
def test_wide_atom_indices_of_large_molecules():
    # more than 255 atoms: bond end points and ring members are int32 instead of uint8
    chain, ring = "C" * 300, "C1" + "C" * 298 + "C1"
    decoded = decode_chunk(PickleChunk.from_pickles(pickles(chain, "CO", ring)))
    assert decoded.ok.all()
    first = slice(0, 299)
    assert decoded.bonds["begin"][first].tolist() == list(range(299))
    assert decoded.bonds["end"][first].tolist() == list(range(1, 300))
    ring_atoms = slice(int(decoded.atom_ptr[2]), int(decoded.atom_ptr[3]))
    assert decoded.atoms["is_in_ring"][ring_atoms].tolist() == [1] * 300
    assert decoded.atoms["is_in_ring"][: decoded.atom_ptr[2]].sum() == 0
    last_bond = int(decoded.bond_ptr[3]) - 1  # the ring closure 0-299
    assert sorted((decoded.bonds["begin"][last_bond], decoded.bonds["end"][last_bond])) == [0, 299]


def test_query_molecules_are_left_to_the_reference():
    query = Chem.MolFromSmarts("[C,N]C")
    query.UpdatePropertyCache(strict=False)
    Chem.GetSymmSSSR(query)
    decoded = decode_chunk(PickleChunk.from_mols([query]))
    assert not decoded.ok[0]


def test_short_or_foreign_bytes_are_not_decoded():
    decoded = decode_chunk(PickleChunk.from_pickles([b"", b"\x00" * 40, struct.pack("<I", 0xDEADBEEF) + bytes(40)]))
    assert decoded.ok.tolist() == [False, False, False]
    assert decoded.atom_ptr.tolist() == [0, 0, 0, 0]
