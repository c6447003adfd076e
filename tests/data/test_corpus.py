"""Tests for molssl.data.corpus: SMILES file readers and file digests."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from molssl.data.corpus import SmilesCorpus, read_smiles_file, table_format
from molssl.files import file_sha256

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def write(path: Path, text: str, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_smi_without_header_ignores_names(tmp_path):
    path = write(tmp_path / "mols.smi", "CCO ethanol\nc1ccccc1\tbenzene\n[Na+].[Cl-]\n")
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "c1ccccc1", "[Na+].[Cl-]"]
    assert corpus.rows.dtype == np.int64
    assert corpus.rows.tolist() == [0, 1, 2]
    assert corpus.source == str(path)
    assert len(corpus) == 3


@pytest.mark.parametrize("header", ["SMILES", "smiles", "SMILES name", "Smiles\tid"])
def test_smi_header_is_skipped(tmp_path, header):
    path = write(tmp_path / "mols.txt", f"{header}\nC[C@H](N)C(=O)O ala\n*c1ccccc1\n")
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["C[C@H](N)C(=O)O", "*c1ccccc1"]
    assert corpus.rows.tolist() == [0, 1]


def test_smi_empty_lines_are_kept_with_their_row_numbers(tmp_path):
    path = write(tmp_path / "mols.smi", "SMILES\nCCO\n\n   \nC\n")
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "", "", "C"]
    assert corpus.rows.tolist() == [0, 1, 2, 3]


def test_smi_windows_line_endings_and_no_final_newline(tmp_path):
    path = write(tmp_path / "mols.smi", "CCO\r\nCCN\r\nCCC")
    assert read_smiles_file(path).smiles == ["CCO", "CCN", "CCC"]


def test_smi_rejects_smiles_column(tmp_path):
    path = write(tmp_path / "mols.smi", "CCO\n")
    with pytest.raises(ValueError, match="CSV/TSV files only"):
        read_smiles_file(path, smiles_column="smiles")


@pytest.mark.parametrize(
    "header, expected_column",
    [
        ("id,smiles,y", "smiles"),
        ("id,SMILES,y", "SMILES"),
        ("id,Canonical_SMILES,y", "Canonical_SMILES"),
        ("mol,CID,Class", "mol"),
        ("mol,smiles,y", "smiles"),  # 'smiles' is preferred over 'mol'
    ],
)
def test_csv_smiles_column_detection(tmp_path, header, expected_column):
    columns = header.split(",")
    smiles_at = columns.index(expected_column)
    lines = [header]
    for smiles in ["CCO", "c1ccncc1"]:  # SMILES in the expected column, fillers elsewhere
        cells = ["v"] * len(columns)
        cells[smiles_at] = smiles
        lines.append(",".join(cells))
    path = write(tmp_path / "mols.csv", "\n".join(lines) + "\n")
    assert read_smiles_file(path).smiles == ["CCO", "c1ccncc1"]


def test_csv_explicit_column_and_quoted_fields(tmp_path):
    path = write(tmp_path / "mols.csv", 'name,structure\n"salt, sodium",[Na+].[Cl-]\nwater,O\n')
    corpus = read_smiles_file(path, smiles_column="structure")
    assert corpus.smiles == ["[Na+].[Cl-]", "O"]


def test_csv_without_smiles_column_lists_columns(tmp_path):
    path = write(tmp_path / "mols.csv", "id,structure,y\n1,CCO,0\n")
    with pytest.raises(ValueError, match=r"no SMILES column among \['id', 'structure', 'y'\]"):
        read_smiles_file(path)
    with pytest.raises(ValueError, match=r"no column 'smi'.*\['id', 'structure', 'y'\]"):
        read_smiles_file(path, smiles_column="smi")


def test_csv_empty_cells_and_blank_lines_are_kept(tmp_path):
    path = write(tmp_path / "mols.csv", "smiles\nCCO\n\nC\n")
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "", "C"]
    assert corpus.rows.tolist() == [0, 1, 2]
    path = write(tmp_path / "two.csv", "smiles,y\nCCO,1\n,0\nC,1\n")
    assert read_smiles_file(path).smiles == ["CCO", "", "C"]


def test_csv_keeps_na_like_smiles_verbatim(tmp_path):
    # pandas would turn "NA" and "nan" into missing values; a SMILES reader must not
    path = write(tmp_path / "mols.csv", "smiles\nNA\nnan\nN\n")
    assert read_smiles_file(path).smiles == ["NA", "nan", "N"]


def test_tsv(tmp_path):
    path = write(tmp_path / "mols.tsv", "id\tsmiles\n1\tCC(=O)O\n2\tC#N\n")
    assert read_smiles_file(path).smiles == ["CC(=O)O", "C#N"]


@pytest.mark.parametrize("name", ["mols.smi.gz", "mols.csv.gz", "mols.csv"])
def test_gzip_by_suffix_and_by_magic_bytes(tmp_path, name):
    path = write(tmp_path / name, "SMILES\nCCO\nC1CC1\n", compress=True)
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "C1CC1"]


def test_unknown_suffix_lists_supported(tmp_path):
    path = write(tmp_path / "mols.sdf", "CCO\n")
    with pytest.raises(ValueError, match=r"\.csv.*\.smi.*\.tsv"):
        read_smiles_file(path)


def test_table_format():
    assert table_format("a/b.SMI.GZ") == "smi"
    assert table_format("x.csv.gz") == "csv"
    assert table_format("x.tab") == "tsv"


def test_corpus_validates_and_take_keeps_source_rows():
    with pytest.raises(ValueError, match="2 SMILES but 1 row numbers"):
        SmilesCorpus(["C", "CC"], np.array([0]), "x")
    with pytest.raises(ValueError, match="integers"):
        SmilesCorpus(["C"], np.array([0.5]), "x")
    corpus = SmilesCorpus(["C", "CC", "CCC"], [0, 1, 2], "x")
    assert corpus.rows.dtype == np.int64
    assert not corpus.rows.flags.writeable
    subset = corpus.take([2, 0])
    assert subset.smiles == ["CCC", "C"]
    assert subset.rows.tolist() == [2, 0]


def test_embedded_moses_50k_matches_its_card():
    path = DATASETS / "moses" / "moses_50k.smi.gz"
    card = (DATASETS / "moses" / "README.md").read_text()
    match = re.search(r"output sha256 \(`moses_50k\.smi\.gz`\) \| `([0-9a-f]{64})`", card)
    assert match, "the card must record the sha256 of moses_50k.smi.gz"
    assert file_sha256(path) == match.group(1)
    corpus = read_smiles_file(path)
    assert len(corpus) == 50_000
    assert corpus.rows.tolist() == list(range(50_000))
    assert all(corpus.smiles)
    assert len(set(corpus.smiles)) == 50_000


# --- byte-order marks and cells that are not one SMILES (issue 11) ---------------------------------

BOM = "\ufeff"


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "name, text",
    [
        ("mols.smi", "SMILES\nCCO\nCCN\n"),
        ("mols.smi", "smiles name\nCCO ethanol\nCCN\n"),
        ("mols.csv", "smiles,y\nCCO,1\nCCN,0\n"),
        ("mols.csv", "id,SMILES\na,CCO\nb,CCN\n"),
        ("mols.tsv", "smiles\ty\nCCO\t1\nCCN\t0\n"),
    ],
)
def test_byte_order_mark_does_not_turn_the_header_into_a_row(tmp_path, name, text, compress):
    path = write(tmp_path / (name + (".gz" if compress else "")), BOM + text, compress=compress)
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "CCN"]
    assert corpus.rows.tolist() == [0, 1]


def test_byte_order_mark_without_header(tmp_path):
    path = write(tmp_path / "mols.smi", BOM + "CCO\nCCN\n")
    assert read_smiles_file(path).smiles == ["CCO", "CCN"]


def test_csv_cell_with_an_embedded_newline_is_reported_not_truncated(tmp_path):
    import molssl

    path = write(tmp_path / "mols.csv", 'smiles,y\nCCO,1\n"CCO\nCCN",0\nc1ccccc1,1\n')
    corpus = read_smiles_file(path)
    assert corpus.smiles == ["CCO", "CCO\nCCN", "c1ccccc1"]
    result = molssl.featurize_many(corpus.smiles, on_error="skip", rows=corpus.rows, source=corpus.source)
    assert result.indices.tolist() == [0, 2]
    assert result.skipped[0].index == 1 and "whitespace" in result.skipped[0].reason
