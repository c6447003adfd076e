"""read_tables (vectorized RDKit pickle reader) against read_tables_reference (RDKit's accessors)."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, rdBase

from molssl.chem.mol_pickle import (
    PICKLE_OPTIONS,
    PickleChunk,
    decode_chunk,
)
from molssl.chem.mol_tables import ATOM_COLUMNS, BOND_COLUMNS, MolTables, read_tables, read_tables_reference

MOLECULENET = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"

AWKWARD = [
    # charged, zwitterions
    "[NH4+]", "[O-][N+](=O)c1ccccc1", "C[N+](C)(C)CC([O-])=O", "[O-]C(=O)C[NH3+]", "[C-]#[O+]", "CC(C)=[N+]=[N-]",
    "[O-][I+3]([O-])([O-])[O-]", "F[P-](F)(F)(F)(F)F",
    # stereo
    "F/C=C/F", "F/C=C\\F", "C[C@H](N)O", "N[C@@H](C)C(=O)O", "C1C[C@H]2CC[C@@H]1C2", "CC=C=CC", "C/C=C/C=C/C",
    "O[C@H]1CC[C@@H](O)CC1", "C[C@@](F)(Cl)Br", "F[C@]12CCCC[C@@H]1CCCC2", "C[C@H]1CC[C@@H](C)CC1",
    "CC[C@H](C)/C=C/[C@@H](O)C", "C/C(F)=C(/Cl)Br", "[C@H](F)(Cl)Br", "C[S@](=O)c1ccccc1", "C[C@H]=C=C[C@H]C",
    # aromatic heterocycles
    "c1cc[nH]c1", "c1ccncc1", "o1cccc1", "s1cccc1", "c1cc[se]c1", "[se]1cccc1", "c1ccc2[nH]ccc2c1", "n1ccn2c1cccc2",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "c1ccc2c(c1)[nH]c1ccccc12", "c1cc2ccc3cccc4ccc(c1)c2c34", "B1(O)OC(C)(C)C(C)(C)O1",
    # single atoms
    "C", "O", "N", "[Na+]", "[He]", "[Cl-]", "[H+]", "[H]", "[H-]", "[Na]", "[Fe]", "[C]", "[CH]", "[Og]", "[Ts]",
    "[U+6]", "[Ti+4]", "[OH2]", "[SiH4]",
    # multi-fragment salts
    "CC(=O)[O-].[Na+]", "[Na+].[Cl-]", "CCN.Cl", "C1CC1.C1CC1.O", "C[N+](C)(C)C.[OH-]", "[Na+].[Na+].[O-]S([O-])(=O)=O",
    "[Cl-].[Cl-].[Cl-].[Cl-].[Cl-].[Cl-].[Pt+6]",
    # metals, organometallics, dative bonds
    "[Fe+2]", "C[Mg]Br", "[Pt](Cl)(Cl)(N)N", "Cl[Pt](Cl)([NH3])[NH3]", "[Cu+2].[O-]S(=O)(=O)[O-]",
    "CC(=O)O[Hg]c1ccccc1", "N->[Fe]", "[NH3]->[Co+3](<-[NH3])(<-[NH3])(<-[NH3])(<-[NH3])<-[NH3]",
    "C[Si](C)(C)C", "[Li]C", "CC(C)(C)[Sn](Cl)(Cl)Cl", "O=[Os](=O)(=O)=O",
    # wildcards, dummy labels
    "*C", "c1cc(*)ccc1", "*c1ccccc1*", "[*:1]CC[*:2]", "[1*]C", "[*]", "*", "[13*:2]C",
    # isotopes
    "[2H]C", "[13CH4]", "[2H][2H]", "[2H]OC", "[18F]c1ccccc1", "[235U]", "[14C@H](F)(Cl)Br", "[2H:3]C",
    # explicit H
    "[H]C([H])([H])[H]", "[H][H]", "[HH]", "[H]N([H])C", "[H][C@]1(O)CCCCC1", "[2H+]",
    # radicals
    "[CH3]", "[O]", "[CH2]C", "[N]=O", "[CH2]", "C[CH]C", "[O][O]",
    # atom maps, including ones that do not fit in a byte
    "[CH3:1]C", "[CH3:127]C", "[CH3:128]C", "[CH3:200][OH:3]", "[NH2:99999]C",
    # high valence, hypervalent (S(=O)(=O)(F)(F)(F)F, [CH5+], C(F)(F)(F)(F)F... fail sanitization: not here)
    "ClF", "[Xe](F)(F)", "FS(F)(F)(F)(F)F", "O=S=O", "OS(=O)(=O)O", "[I-](Cl)Cl",
    # rings: large, fused, bridged, cages
    "C1CCCCCCCCCCCCCCCCCC1", "c1ccc2cc3ccccc3cc2c1", "O=C1NC(=O)C(=O)N1", "C1CC2CCC1CC2",
    "C12C3C4C1C5C2C3C45", "C1CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC1",
    # CXSMILES extensions
    "C[C@H](N)O |&1:1|", "C[C@H](F)Cl |o1:1|", "CC |$R1;$|", "*C |$_AP1;$|", "OC(=O)C1=CC=CC=C1 |c:2,4,6|",
    "C1CCC1 |(0,0,0;1,0,0;1,1,0;0,1,0)|", "CCO |Sg:n:1,2::ht|", "CC[C@](C)(N)O |a:2|",
]  # fmt: skip

# More than 255 atoms: the pickle stores atom indices as int32 instead of uint8.
LARGE = [
    "C" * 300,
    "C1" + "C" * 298 + "C1",
    "F/C=C/" + "C" * 300 + "/C=C/F.c1ccccc1",
    "[2H][C@H](F)" + "C" * 260 + "[CH3:300]",
]


def _mols(smiles: list[str]) -> list[Chem.Mol]:
    with rdBase.BlockLogs():
        mols = [Chem.MolFromSmiles(s) for s in smiles]
    return [m for m in mols if m is not None]


def _assert_same(fast: MolTables, ref: MolTables) -> None:
    np.testing.assert_array_equal(fast.atom_ptr, ref.atom_ptr)
    np.testing.assert_array_equal(fast.bond_ptr, ref.bond_ptr)
    assert set(fast.atoms) == set(ATOM_COLUMNS) and set(fast.bonds) == set(BOND_COLUMNS)
    for name in ATOM_COLUMNS:
        assert fast.atoms[name].dtype == np.int64, name
        np.testing.assert_array_equal(fast.atoms[name], ref.atoms[name], err_msg=name)
    for name in BOND_COLUMNS:
        assert fast.bonds[name].dtype == np.int64, name
        np.testing.assert_array_equal(fast.bonds[name], ref.bonds[name], err_msg=name)


#: without the decoder read_tables is read_tables_reference: comparing them could not fail (see conftest.py)
fast_path = pytest.mark.pickle_fast_path


def _moleculenet_smiles() -> list[str]:
    out = []
    for path in sorted(MOLECULENET.glob("*.csv")):
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            column = "smiles" if "smiles" in reader.fieldnames else "mol"
            out += [row[column] for row in reader]
    return out


@pytest.fixture(scope="module")
def moleculenet_mols() -> list[Chem.Mol]:
    return _mols([s for s in _moleculenet_smiles() if s])


@fast_path
def test_real_molecules_equal_reference(moleculenet_mols):
    mols = moleculenet_mols
    assert len(mols) >= 10_000
    for i in range(0, len(mols), 5000):
        _assert_same(read_tables(mols[i : i + 5000]), read_tables_reference(mols[i : i + 5000]))


@fast_path
def test_real_molecules_use_the_fast_path(moleculenet_mols):
    decoded = decode_chunk(PickleChunk.from_mols(moleculenet_mols[:3000]))
    assert decoded.ok.all()


@fast_path
def test_awkward_molecules_equal_reference():
    mols = _mols(AWKWARD)
    assert len(mols) == len(AWKWARD)  # every entry parses
    _assert_same(read_tables(mols), read_tables_reference(mols))
    for mol in mols:  # one at a time too: chunks of one molecule, lockstep of one
        _assert_same(read_tables([mol]), read_tables_reference([mol]))


@fast_path
def test_awkward_molecules_use_the_fast_path():
    decoded = decode_chunk(PickleChunk.from_mols(_mols(AWKWARD + LARGE)))
    assert decoded.ok.all()


@fast_path
def test_large_molecules_with_int32_indices():
    mols = _mols(LARGE)
    assert len(mols) == len(LARGE) and all(m.GetNumAtoms() > 255 for m in mols)
    mixed = mols[:2] + _mols(["c1ccccc1O", "F/C=C/F"]) + mols[2:]
    _assert_same(read_tables(mixed), read_tables_reference(mixed))


def _edited_mols() -> list[Chem.Mol]:
    """Molecules edited after sanitization: stale implicit valences, unusual enum values, long labels."""
    out = []
    for edit in range(8):
        mol = Chem.RWMol(Chem.MolFromSmiles("CC(=O)N[C@@H](C)/C=C/c1ccccc1"))
        atom, bond = mol.GetAtomWithIdx(1), mol.GetBondWithIdx(6)
        if edit == 0:  # implicit valence kept in the pickle but not counted
            mol.GetAtomWithIdx(0).SetNoImplicit(True)
            atom.SetNoImplicit(True)
        elif edit == 1:
            atom.SetNumExplicitHs(3)
            atom.SetFormalCharge(-2)
            atom.SetNumRadicalElectrons(2)
        elif edit == 2:
            atom.SetChiralTag(Chem.ChiralType.CHI_OTHER)
            mol.GetAtomWithIdx(0).SetChiralTag(Chem.ChiralType.CHI_SQUAREPLANAR)
            atom.SetHybridization(Chem.HybridizationType.SP3D2)
            mol.GetAtomWithIdx(0).SetHybridization(Chem.HybridizationType.UNSPECIFIED)
        elif edit == 3:
            atom.SetIsotope(70000)
            atom.SetAtomMapNum(1000)
            atom.SetProp("dummyLabel", "R" * 300)
        elif edit == 4:
            mol.GetBondWithIdx(0).SetBondDir(Chem.BondDir.ENDUPRIGHT)
            bond.SetStereo(Chem.BondStereo.STEREOCIS)
            bond.SetStereoAtoms(4, 8)
            mol.GetBondWithIdx(1).SetBondType(Chem.BondType.DATIVE)
        elif edit == 5:
            atom.SetAtomicNum(0)
            mol.GetBondWithIdx(0).SetBondType(Chem.BondType.ZERO)
            mol.GetBondWithIdx(0).SetIsConjugated(True)
        elif edit == 6:
            atom.SetIsAromatic(True)
            mol.GetBondWithIdx(2).SetBondType(Chem.BondType.QUADRUPLE)
        else:
            atom.SetFormalCharge(100)
        out.append(mol.GetMol())
    return out


@fast_path
def test_edited_molecules_equal_reference():
    mols = _edited_mols()
    _assert_same(read_tables(mols), read_tables_reference(mols))


def _fallback_mols() -> list[tuple[str, Chem.Mol]]:
    """Molecules the vectorized reader hands back to the reference (query atoms, PDB info, fast rings)."""
    smarts = Chem.MolFromSmarts("[C,N]C1CC1")
    smarts.UpdatePropertyCache(strict=False)
    Chem.GetSymmSSSR(smarts)
    fast_rings = Chem.MolFromSmiles("C1CC1O", sanitize=False)
    fast_rings.UpdatePropertyCache()
    Chem.FastFindRings(fast_rings)
    with rdBase.BlockLogs():
        pdb = Chem.MolFromPDBBlock(Chem.MolToPDBBlock(Chem.MolFromSmiles("CC(N)C(=O)O")))
    return [
        ("sequence (monomer info)", Chem.MolFromSequence("ACDG")),
        ("smarts (query atoms and bonds)", smarts),
        ("fast-find ring info", fast_rings),
        ("cxsmiles query atom", Chem.MolFromSmiles("C1CC1* |$Q_e;$|")),
        ("pdb residue info", pdb),
    ]


@fast_path
def test_unsupported_records_fall_back():
    for name, mol in _fallback_mols():
        assert not decode_chunk(PickleChunk.from_mols([mol])).ok[0], name


@fast_path
def test_mixed_chunk_keeps_molecule_order():
    fallback = [m for _, m in _fallback_mols()]
    regular = _mols(["CCO", "c1ccccc1[N+](=O)[O-]", "[Na+].[Cl-]", "F/C=C/F", "", "C1CC1"] + LARGE[:1])
    chunk = [regular[0], fallback[0], fallback[1], regular[1], regular[2], fallback[2], regular[3], fallback[3]]
    chunk += [regular[4], fallback[4], regular[5], regular[6], fallback[0]]
    _assert_same(read_tables(chunk), read_tables_reference(chunk))
    _assert_same(read_tables(fallback), read_tables_reference(fallback))


@fast_path
def test_empty_inputs():
    _assert_same(read_tables([]), read_tables_reference([]))
    empty = _mols([""])
    assert empty and empty[0].GetNumAtoms() == 0
    _assert_same(read_tables(empty * 3), read_tables_reference(empty * 3))


def test_unknown_version_and_damaged_pickles_are_not_decoded():
    mols = _mols(["CCO", "c1ccccc1", "C[C@H](N)O"])
    good = [m.ToBinary(PICKLE_OPTIONS) for m in mols]
    newer = bytearray(good[0])
    struct.pack_into("<i", newer, 12, 99)  # minor version
    truncated = good[1][: len(good[1]) // 2]
    bad_tag = bytearray(good[2])
    bad_tag[29] = 7  # BEGINATOM expected
    decoded = decode_chunk(PickleChunk.from_pickles([bytes(newer), truncated, bytes(bad_tag), b"", b"\x00" * 5]))
    assert not decoded.ok.any()


def test_random_byte_damage_never_crashes():
    rng = np.random.default_rng(0)
    pickles = [m.ToBinary(PICKLE_OPTIONS) for m in _mols(AWKWARD[:60] + LARGE[:1])]
    for _ in range(20):
        damaged = []
        for p in pickles:
            b = bytearray(p)
            for i in rng.integers(0, len(b), size=3):
                b[i] = rng.integers(0, 256)
            damaged.append(bytes(b))
        decoded = decode_chunk(PickleChunk.from_pickles(damaged))
        assert len(decoded.ok) == len(damaged)
        assert len(decoded.atoms["atomic_num"]) == decoded.atom_ptr[-1]
        assert len(decoded.bonds["begin"]) == decoded.bond_ptr[-1]


def test_unsupported_rdkit_version_reads_everything_with_the_reference(monkeypatch):
    from molssl.chem import mol_tables

    monkeypatch.setattr(mol_tables, "installed_version_supported", lambda: False)
    mols = _mols(AWKWARD[:20])
    with pytest.warns(RuntimeWarning, match="pickle"):
        fast = read_tables(mols)
    _assert_same(fast, read_tables_reference(mols))


# --- read_tables_for_smiles: parse and pickle in one pass -----------------------------------------

_MIXED_SMILES = ["CCO", "", "c1ccccc1O", "C1CC(", "[Na+].[Cl-]", None, "C(C)(C)(C)(C)C", "F/C=C/F", "[2H]C"]


def _reference_for_smiles(smiles):
    from molssl.chem.parse import parse_many

    mols, failures, _ = parse_many(smiles)
    good = [i for i, m in enumerate(mols) if m is not None]
    return read_tables_reference([mols[i] for i in good]), good, failures


@fast_path
def test_read_tables_for_smiles_equals_parse_then_reference():
    from molssl.chem.mol_tables import read_tables_for_smiles

    smiles = _MIXED_SMILES + _moleculenet_smiles()[:500]
    tables, good, failures, _ = read_tables_for_smiles(smiles)
    ref_tables, ref_good, ref_failures = _reference_for_smiles(smiles)
    assert good == ref_good and failures == ref_failures
    assert [i for i, _ in failures] == [1, 3, 5, 6]
    _assert_same(tables, ref_tables)


@fast_path
def test_read_tables_for_smiles_reparses_molecules_the_decoder_rejects(monkeypatch):
    import molssl.chem.mol_tables as mt

    real_decode = mt.decode_chunk

    def reject_some(chunk):
        decoded = real_decode(chunk)
        ok = decoded.ok.copy()
        ok[::3] = False
        return type(decoded)(**{**decoded.__dict__, "ok": ok})

    monkeypatch.setattr(mt, "decode_chunk", reject_some)
    smiles = _MIXED_SMILES + _moleculenet_smiles()[:60]
    tables, good, _, _ = mt.read_tables_for_smiles(smiles)
    ref_tables, ref_good, _ = _reference_for_smiles(smiles)
    assert good == ref_good
    _assert_same(tables, ref_tables)


def test_read_tables_for_smiles_without_fast_path(monkeypatch):
    import molssl.chem.mol_tables as mt

    monkeypatch.setattr(mt, "installed_version_supported", lambda: False)
    with pytest.warns(RuntimeWarning, match="per-atom accessors"):
        tables, good, failures, _ = mt.read_tables_for_smiles(_MIXED_SMILES)
    ref_tables, ref_good, ref_failures = _reference_for_smiles(_MIXED_SMILES)
    assert good == ref_good and failures == ref_failures
    _assert_same(tables, ref_tables)


# --- molecules with thousands of records: no Python loop per atom ---------------------------------

# Long enough that a lockstep walk over the records would run thousands of Python steps; each mixes the
# records that change a record's length (isotopes, map numbers, dummy labels, charges, stereo bonds).
HUGE = [
    "C" * 5000,
    "C1" + "C" * 2998 + "C1",
    "[2H][C@H](F)" + "C(=O)N[C@@H](C)" * 400 + "[CH3:300]",
    "F/C=C/" + "C[13CH2][NH2+]" * 400 + "/C=C/F.[Na+].[Cl-]",
    "c1ccccc1" + "c1ccc(*)cc1" * 200 + "[*:7]",
    "".join(f"C{i % 9 + 1}CC{i % 9 + 1}" for i in range(600)),  # 600 rings
]


@fast_path
def test_huge_molecules_equal_reference():
    mols = _mols(HUGE)
    assert len(mols) == len(HUGE) and all(m.GetNumAtoms() > 1000 for m in mols)
    mixed = [mols[0]] + _mols(["CCO", "c1ccccc1O"] + LARGE[:2]) + mols[1:] + _mols(AWKWARD[:30])
    _assert_same(read_tables(mixed), read_tables_reference(mixed))
    for mol in mols:
        _assert_same(read_tables([mol]), read_tables_reference([mol]))


@fast_path
def test_huge_molecules_use_the_fast_path():
    assert decode_chunk(PickleChunk.from_mols(_mols(HUGE))).ok.all()


@fast_path
def test_decoding_cost_does_not_grow_with_a_python_loop_per_atom(monkeypatch):
    import time

    import molssl.chem.record_walk as walk

    steps = []
    real_lockstep = walk._lockstep

    def counting(counts, mols):
        order, active = real_lockstep(counts, mols)
        steps.append(len(active))
        return order, active

    monkeypatch.setattr(walk, "_lockstep", counting)
    mol = _mols(["C" * 100_000])[0]
    chunk = PickleChunk.from_mols([mol] + _mols(["CCO", "C1CC1"]))
    t = time.perf_counter()
    decoded = decode_chunk(chunk)
    elapsed = time.perf_counter() - t
    assert decoded.ok.all() and decoded.atom_ptr[1] == 100_000
    assert np.array_equal(decoded.atoms["total_degree"][:100_000], np.full(100_000, 4))  # CH3 ends, CH2 inside
    assert max(steps) <= 256, steps  # a few lockstep steps for small molecules, not one per atom
    assert elapsed < 1.5, elapsed  # was about 3-5 s


@pytest.mark.parametrize("damaged", [False, True])
def test_pointer_doubling_walk_equals_lockstep_walk(monkeypatch, moleculenet_mols, damaged):
    import molssl.chem.record_walk as walk

    mols = moleculenet_mols[:300] + _mols(AWKWARD + LARGE) + _edited_mols() + [m for _, m in _fallback_mols()]
    pickles = [m.ToBinary(PICKLE_OPTIONS) for m in mols]
    if damaged:
        rng = np.random.default_rng(1)
        pickles = [bytes(np.where(rng.random(len(p)) < 0.01, rng.integers(0, 256, len(p)), list(p)).astype(np.uint8))
                   for p in pickles]  # fmt: skip
    lockstep = decode_chunk(PickleChunk.from_pickles(pickles))
    monkeypatch.setattr(walk, "LOCKSTEP_MAX_RECORDS", 0)  # every molecule by pointer doubling
    doubling = decode_chunk(PickleChunk.from_pickles(pickles))
    assert np.array_equal(lockstep.ok, doubling.ok)
    assert damaged or lockstep.ok.sum() >= len(mols) - len(_fallback_mols())
    keep_atoms = np.repeat(lockstep.ok, np.diff(lockstep.atom_ptr))
    keep_bonds = np.repeat(lockstep.ok, np.diff(lockstep.bond_ptr))
    for name in ATOM_COLUMNS:
        assert np.array_equal(lockstep.atoms[name][keep_atoms], doubling.atoms[name][keep_atoms]), name
    for name in BOND_COLUMNS:
        assert np.array_equal(lockstep.bonds[name][keep_bonds], doubling.bonds[name][keep_bonds]), name
