"""SD files written by RDKit from real ESOL molecules: records, data fields, broken records, gzip."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from molssl.data.labeled import featurize_table
from molssl.data.labeled_source import load_labeled_table
from molssl.data.molecule_table import read_molecule_table
from molssl.data.sdf import is_sdf, read_sdf
from tests.conftest import MOLECULENET


def write_sdf(path, frame, broken_at=None):
    """Write ``frame``'s molecules with RDKit, names ``ESOL-<i>`` and fields logS and note; optionally corrupt one record."""
    writer = Chem.SDWriter(str(path))
    for i, row in enumerate(frame.itertuples()):
        mol = Chem.MolFromSmiles(row.smiles)
        mol.SetProp("_Name", f"ESOL-{i}")
        mol.SetProp("logS", f"{row.logp}")
        mol.SetProp("note", "measured")
        writer.write(mol)
    writer.close()
    if broken_at is not None:
        records = path.read_text().split("$$$$\n")
        lines = records[broken_at].split("\n")
        lines[3] = "garbage counts line"
        records[broken_at] = "\n".join(lines)
        path.write_text("$$$$\n".join(records))
    return path


@pytest.fixture
def esol():
    return pd.read_csv(MOLECULENET / "esol.csv").iloc[:12]


def test_records_fields_and_names(tmp_path, esol):
    path = write_sdf(tmp_path / "esol.sdf", esol)
    records = read_sdf(path)
    assert len(records.smiles) == 12 and not records.read_errors
    assert [Chem.CanonSmiles(s) for s in records.smiles] == [Chem.CanonSmiles(s) for s in esol["smiles"]]
    assert list(records.columns) == ["name", "logS", "note"]
    assert records.columns["name"][3] == "ESOL-3"
    table = load_labeled_table(path, None, None, None)
    assert table.task_names == ("logS",) and table.task_type == "regression"
    np.testing.assert_allclose(table.labels[:, 0], esol["logp"], rtol=1e-6)
    assert table.extra["name"][0] == "ESOL-0" and table.extra["note"][0] == "measured"
    assert is_sdf("a.sdf.gz") and is_sdf("B.SDF") and not is_sdf("a.csv")


def test_gzipped_and_broken_record_keeps_its_place_with_the_reason(tmp_path, esol):
    plain = write_sdf(tmp_path / "esol.sdf", esol, broken_at=4)
    path = tmp_path / "esol.sdf.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    table = load_labeled_table(path, None, ["logS"], None)
    assert len(table) == 12 and table.smiles[4] == ""
    assert table.read_errors[4].startswith("record 4 (line ")
    result = featurize_table(table, "hu")
    assert [s.index for s in result.skipped] == [4]
    assert "RDKit cannot read the molblock" in result.skipped[0].reason
    molecules = read_molecule_table(path)
    assert molecules.extra["name"][5] == "ESOL-5" and 4 in molecules.read_errors
    with pytest.raises(ValueError, match="must name distinct data fields"):
        load_labeled_table(path, None, ["pIC50"], None)


def test_file_without_records_is_an_error(tmp_path):
    path = tmp_path / "empty.sdf"
    path.write_text("not an sd file\n")
    with pytest.raises(ValueError, match="no readable SD record"):
        read_sdf(path)
