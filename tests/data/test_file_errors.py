"""Read failures of the corpus readers become one error type naming the file, the line and the reason (issue 11)."""

from __future__ import annotations

import gzip
import re

import pytest

from molssl.data.corpus import read_smiles_file
from molssl.data.file_errors import DataFileError
from molssl.data.labeled import read_labeled_csv
from tests.conftest import MOLECULENET

BBBP = gzip.compress((MOLECULENET / "bbbp.csv").read_bytes())


@pytest.mark.parametrize(
    "name, content, reason, line",
    [
        ("a.csv.gz", BBBP[: len(BBBP) // 2], "the gzip data ends early", None),
        ("a.csv", "smiles,y\nCCO,1\n".encode("utf-16"), "the file is UTF-16 text", None),
        ("a.smi", b"CCO\nCCN\n\x00\x01\x02\n", "not a text file: it holds NUL bytes", 3),
        ("a.smi", "CCO\nC\xe9C\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at column 2)", 2),
        ("a.csv", b"", "the file is empty", None),
        ("a.csv.gz", b"\x1f\x8b" + b"\x00" * 30, "damaged gzip data", None),
    ],
)
def test_unreadable_files_name_file_line_and_reason(tmp_path, name, content, reason, line):
    path = tmp_path / name
    path.write_bytes(content)
    readers = [read_smiles_file] + ([read_labeled_csv] if ".csv" in name else [])
    for read in readers:
        with pytest.raises(DataFileError, match=re.escape(reason)) as info:
            read(path)
        assert info.value.path == str(path) and info.value.line == line and str(info.value).startswith(str(path))
        assert isinstance(info.value, ValueError)


def test_directory_and_missing_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataFileError, match=r"d\.csv: is a directory"):
        read_smiles_file(tmp_path / "d.csv")
    with pytest.raises(FileNotFoundError):
        read_smiles_file(tmp_path / "missing.csv")
