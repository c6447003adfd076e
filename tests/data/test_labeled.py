"""Tests for molssl.data.labeled: labeled CSV reading, missing labels, task-type detection."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from molssl.data.labeled import LabeledTable, read_labeled_csv

NAN = np.nan


def write(path: Path, text: str, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


SIDER_LIKE = (
    'smiles,Hepatobiliary disorders,"Neoplasms benign, malignant and unspecified",Eye disorders\n'
    "CCO,1,0,\n"
    "c1ccccc1O,,1,1\n"
    "[Na+].[Cl-],0,NA,0\n"
)


def test_multitask_missing_labels_are_nan(tmp_path):
    table = read_labeled_csv(write(tmp_path / "sider.csv", SIDER_LIKE))
    assert table.smiles == ["CCO", "c1ccccc1O", "[Na+].[Cl-]"]
    assert table.task_names == (
        "Hepatobiliary disorders",
        "Neoplasms benign, malignant and unspecified",
        "Eye disorders",
    )
    assert table.labels.dtype == np.float32
    expected = np.array([[1, 0, NAN], [NAN, 1, 1], [0, NAN, 0]], dtype=np.float32)
    np.testing.assert_array_equal(table.labels, expected)  # NaN positions must match too
    assert table.task_type == "classification"
    assert table.rows.tolist() == [0, 1, 2]
    assert table.num_tasks == 3 and len(table) == 3


def test_clintox_like_gzipped_with_target_subset_and_order(tmp_path):
    path = write(
        tmp_path / "clintox.csv.gz",
        "smiles,FDA_APPROVED,CT_TOX\n*C(=O)[C@H](N)C,1,0\nCCN,0,1\n",
        compress=True,
    )
    table = read_labeled_csv(path, target_columns=["CT_TOX", "FDA_APPROVED"])
    assert table.task_names == ("CT_TOX", "FDA_APPROVED")
    np.testing.assert_array_equal(table.labels, [[0, 1], [1, 0]])
    single = read_labeled_csv(path, target_columns="CT_TOX")
    assert single.task_names == ("CT_TOX",)
    assert single.labels.shape == (2, 1)


@pytest.mark.parametrize("cell", ["", " ", "nan", "NaN", "NA", "N/A", "null", "None"])
def test_missing_label_tokens(tmp_path, cell):
    table = read_labeled_csv(write(tmp_path / "t.csv", f"smiles,y\nC,1\nCC,{cell}\nCCC,0\n"))
    assert np.isnan(table.labels[1, 0])
    assert table.labels[[0, 2], 0].tolist() == [1.0, 0.0]


def test_task_type_detection(tmp_path):
    regression = read_labeled_csv(write(tmp_path / "r.csv", "smiles,logS\nCCO,-0.77\nC,1\nCC,0\n"))
    assert regression.task_type == "regression"
    np.testing.assert_allclose(regression.labels[:, 0], [-0.77, 1, 0], rtol=1e-6)
    binary = read_labeled_csv(write(tmp_path / "c.csv", "smiles,y\nCCO,1.0\nC,0\n"))
    assert binary.task_type == "classification"
    declared = read_labeled_csv(tmp_path / "c.csv", task_type="regression")
    assert declared.task_type == "regression"


def test_minus_one_is_a_value_not_missing(tmp_path):
    path = write(tmp_path / "t.csv", "smiles,a,b\nC,1,0\nCC,-1,1\n")
    detected = read_labeled_csv(path)
    assert detected.task_type == "regression"
    assert detected.labels[1, 0] == -1
    with pytest.raises(ValueError, match=r"row 1, column 'a'.*not 0 or 1"):
        read_labeled_csv(path, task_type="classification")


def test_non_numeric_label_names_file_row_and_column(tmp_path):
    path = write(tmp_path / "bad.csv", "smiles,FDA_APPROVED,CT_TOX\nC,1,0\nCC,0,1\nCCC,1,yes\n")
    with pytest.raises(ValueError) as info:
        read_labeled_csv(path)
    message = str(info.value)
    assert str(path) in message
    assert "row 2" in message and "line 4" in message
    assert "'CT_TOX'" in message and "'yes'" in message


def test_infinite_label_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"row 0, column 'y'"):
        read_labeled_csv(write(tmp_path / "t.csv", "smiles,y\nC,inf\n"))


def test_default_targets_are_the_numeric_columns_and_text_columns_are_kept(tmp_path):
    # canonical BBBP layout: 'name' is text (an identifier), kept beside the labels, never a target
    path = write(tmp_path / "BBBP.csv", "num,name,p_np,smiles\n1,Propanolol,1,CC(C)NCC(O)COc1cccc2ccccc12\n2,Terbutylchlorambucil,1,O=C(OC(C)(C)C)CCCc1ccc(cc1)N(CCCl)CCCl\n")
    table = read_labeled_csv(path)
    assert table.task_names == ("num", "p_np")
    assert table.extra == {"name": ["Propanolol", "Terbutylchlorambucil"]}
    table = read_labeled_csv(path, target_columns=["p_np"])
    assert table.task_names == ("p_np",)
    assert table.extra == {"num": ["1", "2"], "name": ["Propanolol", "Terbutylchlorambucil"]}
    assert table.smiles[0] == "CC(C)NCC(O)COc1cccc2ccccc12"
    assert table.task_type == "classification" and "every observed label is 0 or 1" in table.task_type_reason
    with pytest.raises(ValueError, match="no target columns"):
        read_labeled_csv(write(tmp_path / "ids.csv", "smiles,id\nC,a1\n"))


def test_integer_classes_are_detected_as_multiclass_and_said_why(tmp_path):
    path = write(tmp_path / "m.csv", "smiles,cls\nCCO,0\nc1ccccc1,2\nCC(=O)O,1\nCCN,2\n")
    table = read_labeled_csv(path)
    assert table.task_type == "multiclass" and table.num_classes == 3
    assert "detected" in table.task_type_reason and "0..2" in table.task_type_reason
    assert read_labeled_csv(path, task_type="regression").task_type == "regression"
    with pytest.raises(ValueError, match=r"row 1, column 'cls'.*declare --task-type multiclass \(Python: task_type='multiclass'\)"):
        read_labeled_csv(path, task_type="classification")


def test_column_errors_list_the_file_columns(tmp_path):
    path = write(tmp_path / "t.csv", "smiles,y\nC,1\n")
    with pytest.raises(ValueError, match=r"no column\(s\) \['z'\].*\['smiles', 'y'\]"):
        read_labeled_csv(path, target_columns=["z"])
    with pytest.raises(ValueError, match="cannot also be a target"):
        read_labeled_csv(path, target_columns=["smiles"])
    with pytest.raises(ValueError, match="no target columns"):
        read_labeled_csv(write(tmp_path / "only.csv", "smiles\nC\n"))
    with pytest.raises(ValueError, match="task_type must be one of"):
        read_labeled_csv(path, task_type="ordinal")


def test_all_missing_needs_declared_task_type(tmp_path):
    path = write(tmp_path / "t.csv", "smiles,y\nC,\nCC,\n")
    with pytest.raises(ValueError, match="every label is missing"):
        read_labeled_csv(path)
    table = read_labeled_csv(path, task_type="classification")
    assert np.isnan(table.labels).all()


def test_smiles_kept_verbatim_and_rows_not_dropped(tmp_path):
    table = read_labeled_csv(write(tmp_path / "t.tsv", "SMILES\ty\n\t1\nNA\t0\n"))
    assert table.smiles == ["", "NA"]
    assert table.rows.tolist() == [0, 1]


def test_labeled_table_validates():
    with pytest.raises(ValueError, match="task_type"):
        LabeledTable(["C"], np.zeros((1, 1)), ("y",), "ranking", "x", np.arange(1))
    with pytest.raises(ValueError, match="expected \\(1, 2\\)"):
        LabeledTable(["C"], np.zeros((1, 1)), ("a", "b"), "regression", "x", np.arange(1))
    with pytest.raises(ValueError, match="unique"):
        LabeledTable(["C"], np.zeros((1, 2)), ("a", "a"), "regression", "x", np.arange(1))
    with pytest.raises(ValueError, match="not 0 or 1"):
        LabeledTable(["C"], np.full((1, 1), 2.0), ("a",), "classification", "x", np.arange(1))
    table = LabeledTable(["C"], [[1.0]], ["a"], "classification", "x", [4])
    assert table.labels.dtype == np.float32 and table.task_names == ("a",) and table.rows.tolist() == [4]


# --- featurizing a table: rows of the file in every record, sanitize mode passed through (issue 11) ---

ALQ3 = "c7cc8O[Al]14(Oc2cccc3cccn->1c23)(Oc5cccc6cccn->4c56)<-n9cccc(c7)c89"  # rejected by RDKit >= 2024.09


def test_featurize_table_strict_skips_and_lenient_keeps_with_file_rows(tmp_path):
    from molssl.data.labeled import featurize_table

    path = write(tmp_path / "tox.csv", f"smiles,y\nCCO,1\n{ALQ3},0\nCCO N,1\nc1ccccc1,0\n")
    table = read_labeled_csv(path)
    strict = featurize_table(table, scheme="ogb")
    assert strict.indices.tolist() == [0, 3] and [s.index for s in strict.skipped] == [1, 2]
    assert "valence" in strict.skipped[0].reason and "whitespace" in strict.skipped[1].reason
    assert strict.parse_options["sanitize"] == "strict" and not strict.lenient

    lenient = featurize_table(table, scheme="ogb", sanitize="lenient")
    assert lenient.indices.tolist() == [0, 1, 3] and [s.index for s in lenient.skipped] == [2]
    assert [(r.index, r.smiles) for r in lenient.lenient] == [(1, ALQ3)] and "Al, 6" in lenient.lenient[0].reason
    assert lenient.parse_options["sanitize"] == "lenient"


def test_featurize_table_reports_source_rows_of_a_subset(tmp_path):
    from molssl.data.labeled import featurize_table

    table = LabeledTable(smiles=["CCO", "C1CC("], labels=np.array([[1.0], [0.0]]), task_names=("y",),
                         task_type="classification", source="sub.csv", rows=np.array([7, 9]))  # fmt: skip
    result = featurize_table(table)
    assert [s.index for s in result.skipped] == [9]
    with pytest.raises(ValueError, match="sub.csv: row 9"):
        featurize_table(table, on_error="raise")
