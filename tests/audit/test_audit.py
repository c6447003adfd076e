"""The audit on a hand-built corpus of real molecules with known duplicates, invalid rows and planted BBBP molecules.

Expected findings are computed here with RDKit directly (canonical SMILES), independent of molssl.audit.keys.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from rdkit import Chem, rdBase

from molssl.audit import audit, decontaminate
from molssl.audit.downstream import load_downstream
from molssl.cli.main import main
from molssl.data.corpus import read_smiles_file
from molssl.files import file_sha256

MOSES = Path(__file__).resolve().parents[2] / "datasets" / "moses" / "moses_50k.smi.gz"


def canonical(smiles: str, isomeric: bool = True) -> str:
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        return Chem.MolToSmiles(mol, isomericSmiles=isomeric) if mol is not None else ""


def randomized(smiles: str, seed: int) -> str:
    """The same molecule written another way (RDKit's randomized atom order)."""
    spellings = Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(smiles), 10, randomSeed=seed)
    return next(text for text in spellings if text != smiles)


@pytest.fixture(scope="module")
def bbbp():
    return load_downstream("bbbp")


@pytest.fixture(scope="module")
def planted(bbbp, tmp_path_factory) -> dict:
    """A corpus: 120 MOSES molecules, duplicates, invalid rows, and BBBP test/valid/train molecules."""
    bbbp_smiles = read_smiles_file(bbbp.source).smiles
    by_part = {p: [bbbp_smiles[i] for i in bbbp.rows_in(p)] for p in ("train", "valid", "test")}
    with_stereo = next(s for s in by_part["test"] if "@" in canonical(s))
    plain_test = next(s for s in by_part["test"] if "@" not in canonical(s) and "." not in s)
    bbbp_canonical = {canonical(s) for s in bbbp_smiles}
    # MOSES holds BBBP molecules itself (its first row, trimetozine, is one): keep the filler clean
    filler = [s for s in read_smiles_file(MOSES).smiles[:130] if canonical(s) not in bbbp_canonical][:120]
    rows = list(filler)
    planted_rows = {}

    def plant(smiles: str, why: str) -> None:
        planted_rows[len(rows)] = why
        rows.append(smiles)

    plant(plain_test, "exact")  # as written in BBBP
    plant(randomized(with_stereo, 1), "exact")  # another spelling of a stereo test molecule
    plant(canonical(with_stereo, isomeric=False), "stereo_insensitive")  # its stereo removed
    plant(randomized(by_part["valid"][3], 2), "exact")
    plant(by_part["train"][5], "exact")
    duplicate_of = {len(rows): 7, len(rows) + 1: 7, len(rows) + 2: 11}
    rows += [randomized(filler[7], 3), filler[7], filler[11]]  # filler 7 three times, 11 twice
    invalid = {len(rows): "C1CC", len(rows) + 1: "c1cccc1", len(rows) + 2: "CC(C)(C)(C)(C)C"}
    rows += list(invalid.values())
    path = tmp_path_factory.mktemp("corpus") / "corpus.smi"
    path.write_text("SMILES\n" + "\n".join(rows) + "\n")
    keyed = {isomeric: [(canonical(s, isomeric), part) for s, part in zip(bbbp_smiles, bbbp.part.tolist())] for isomeric in (True, False)}
    parts_of = {}  # planted row -> the BBBP parts holding its molecule (BBBP repeats some molecules)
    for row, why in planted_rows.items():
        key = canonical(rows[row], isomeric=why == "exact")
        parts_of[row] = {part for other, part in keyed[why == "exact"] if other == key and part}
    return {"path": path, "rows": rows, "planted": planted_rows, "parts_of": parts_of, "duplicate_of": duplicate_of,
            "invalid": invalid, "bbbp_smiles": bbbp_smiles, "with_stereo": with_stereo}


def test_audit_finds_exactly_the_planted_molecules(planted, bbbp) -> None:
    report = audit(planted["path"], [bbbp])
    found = {}
    for m in report.matches:
        found.setdefault(m["row"], (m["match"], set()))[1].add(m["part"])
    assert set(found) == set(planted["planted"])
    for row, why in planted["planted"].items():
        assert found[row] == (why, planted["parts_of"][row]), row
    (overlap,) = report.overlap
    tests = [r for r in planted["planted"] if "test" in planted["parts_of"][r]]
    assert overlap["parts"]["test"]["exact"] == len([r for r in tests if planted["planted"][r] == "exact"]) == 2
    assert overlap["parts"]["test"]["stereo_insensitive"] == 2  # the stripped one is the same test molecule
    assert overlap["parts"]["test"]["molecules"] == len(bbbp.rows_in("test"))
    assert overlap["test_scaffolds"]["in_corpus"] >= 1 and overlap["corpus_rows_matching"] == 5


def test_audit_counts_duplicates_and_invalid_rows(planted) -> None:
    import molssl

    report = molssl.audit(planted["path"])  # the package is callable as its audit function
    assert [r["row"] for r in report.invalid] == sorted(planted["invalid"])
    assert "unclosed ring" in report.invalid[0]["reason"] and "valence" in report.invalid[2]["reason"].lower()
    assert report.rows == len(planted["rows"])
    rows = planted["rows"]
    # independent count: rows whose canonical SMILES an earlier valid row already had
    seen, repeats = set(), 0
    for s in rows:
        key = canonical(s)
        if key:
            repeats += key in seen
            seen.add(key)
    assert report.duplicates["canonical"]["duplicate_rows"] == repeats == 3  # filler 7 twice more, filler 11 once
    groups = [sorted(g) for g in report.duplicates["canonical"]["examples"]]
    assert [7, *sorted(r for r, of in planted["duplicate_of"].items() if of == 7)] in groups
    # ignoring stereo, the stereo test molecule and its stripped copy are one molecule more
    assert report.duplicates["flat"]["duplicate_rows"] == repeats + 1
    assert report.outliers["multi_fragment"]["count"] == sum("." in canonical(s) for s in rows if canonical(s))


def test_decontaminate_removes_exactly_them_and_store_records_provenance(planted, bbbp, tmp_path) -> None:
    out = tmp_path / "clean.smi.gz"
    done = decontaminate(planted["path"], [bbbp], out)
    kept = read_smiles_file(out).smiles
    expected_removed = sorted(planted["planted"])
    assert done.rows_removed == len(expected_removed) and done.rows_kept == len(planted["rows"]) - len(expected_removed)
    assert kept == [s for r, s in enumerate(planted["rows"]) if r not in planted["planted"]]
    with open(done.removed_file, newline="") as fh:
        removed = list(csv.DictReader(fh))
    assert [int(r["source_row"]) for r in removed] == expected_removed
    assert all(r["reasons"].startswith("bbbp:") for r in removed)
    record = json.loads(done.provenance_file.read_text())
    assert record["output"]["sha256"] == file_sha256(out) and record["source"]["sha256"] == file_sha256(planted["path"])
    assert record["rows_removed"] == len(expected_removed) and record["against"][0]["sha256"] == bbbp.sha256
    exact_only = decontaminate(planted["path"], [bbbp], tmp_path / "exact.csv", match="exact")
    assert exact_only.rows_removed == len(expected_removed) - 1  # the stereo-stripped one stays
    with gzip.open(out, "rt") as fh:
        assert fh.readline() == "SMILES\n"
    # with scaffolds: also every row whose Murcko scaffold (no stereo) is one of BBBP's test scaffolds
    from rdkit.Chem.Scaffolds import MurckoScaffold

    def scaffold(smiles: str) -> str:
        with rdBase.BlockLogs():
            return MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles, includeChirality=False) if canonical(smiles) else ""

    test_scaffolds = {scaffold(planted["bbbp_smiles"][i]) for i in bbbp.rows_in("test")} - {""}
    carriers = {r for r, s in enumerate(planted["rows"]) if scaffold(s) in test_scaffolds}
    assert carriers - set(planted["planted"])  # MOSES molecules that carry a BBBP test scaffold exist
    wide = decontaminate(planted["path"], [bbbp], tmp_path / "wide.smi", scaffolds=True)
    assert wide.rows_removed == len(carriers | set(planted["planted"]))

    from molssl.data.store_build import build_store

    store = build_store(out, cache_dir=tmp_path / "stores")
    assert store.meta["source"]["provenance"]["rows_removed"] == len(expected_removed)


def test_cli_audit_writes_the_report(planted, tmp_path, capsys) -> None:
    """A downstream set given as a file: the planted molecules (one stereo-stripped) among 20 other BBBP rows."""
    exact = [planted["rows"][r] for r, why in planted["planted"].items() if why == "exact"]
    others = [s for s in planted["bbbp_smiles"][-20:] if canonical(s) not in {canonical(x) for x in planted["rows"]}]
    downstream = tmp_path / "mine.csv"
    downstream.write_text("smiles\n" + "\n".join(exact + [planted["with_stereo"]] + others) + "\n")
    assert main(["audit", str(planted["path"]), "--against", str(downstream), "--out", str(tmp_path / "rep"),
                 "--decontaminate", str(tmp_path / "clean.csv"), "--match", "exact", "--cache-dir", str(tmp_path / "cache")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"{len(planted['rows'])} rows, 3 invalid" in printed and "removed 4" in printed and "(keys computed in" in printed
    assert main(["audit", str(planted["path"]), "--out", str(tmp_path / "again"), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "(keys from the cache)" in capsys.readouterr().out
    data = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert data["rows"] == len(planted["rows"]) and sorted({m["row"] for m in data["matches"]}) == sorted(planted["planted"])
    assert (tmp_path / "rep" / "audit.png").stat().st_size > 1000
    assert "## Overlap with downstream sets" in (tmp_path / "rep" / "audit.md").read_text()
    with open(tmp_path / "clean.csv", newline="") as fh:
        source_rows = [int(r["source_row"]) for r in csv.DictReader(fh)]
    assert source_rows == [r for r in range(len(planted["rows"])) if planted["planted"].get(r) != "exact"]
