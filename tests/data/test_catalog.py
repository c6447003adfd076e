"""Tests for molssl.data.catalog: the MoleculeNet catalog and loader."""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from molssl.data import catalog, embedded
from molssl.data.catalog import MOLECULENET, DatasetInfo, get_dataset_info, load_moleculenet
from molssl.files import file_sha256

MOLECULENET_DIR = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"

EXPECTED_TASKS = {
    "bbbp": 1, "tox21": 12, "toxcast": 617, "sider": 27, "clintox": 2, "muv": 17, "hiv": 1, "bace": 1,
    "esol": 1, "freesolv": 1, "lipophilicity": 1,
}  # fmt: skip

EMBEDDED = {  # name -> (rows, first canonical task name, task type)
    "bbbp": (2039, "p_np", "classification"),
    "bace": (1513, "Class", "classification"),
    "clintox": (1478, "FDA_APPROVED", "classification"),
    "sider": (1427, "Hepatobiliary disorders", "classification"),
    "esol": (1128, "measured log solubility in mols per litre", "regression"),
    "freesolv": (642, "expt", "regression"),
    "lipo": (4200, "exp", "regression"),
}


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """The embedded copies are under test, not whatever a developer's MOLSSL_DATA points at."""
    monkeypatch.delenv(catalog.DATA_ENV_VAR, raising=False)


def test_catalog_holds_the_eleven_sets():
    assert set(MOLECULENET) == set(EXPECTED_TASKS)


@pytest.mark.parametrize("key", sorted(EXPECTED_TASKS))
def test_entry_is_well_formed(key):
    info = MOLECULENET[key]
    assert info.key == key
    assert info.num_tasks == EXPECTED_TASKS[key]
    assert info.split == "scaffold"
    assert (info.task_type, info.metric) in {("classification", "rocauc"), ("regression", "rmse")}
    assert info.url == "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/" + info.canonical_file
    assert info.canonical_file.endswith((".csv", ".csv.gz"))
    if info.task_columns is not None:
        assert len(info.task_columns) == info.num_tasks
        assert info.smiles_column not in info.task_columns
    if info.trimmed_file is not None:
        assert (MOLECULENET_DIR / info.trimmed_file).is_file()
        assert len(info.trimmed_task_columns) == info.num_tasks
    assert info.canonical_file in info.file_names()


def test_regression_and_classification_split_as_in_the_literature():
    regression = {key for key, info in MOLECULENET.items() if info.task_type == "regression"}
    assert regression == {"esol", "freesolv", "lipophilicity"}
    assert MOLECULENET["toxcast"].task_columns is None  # derived from the file: every column but smiles
    assert MOLECULENET["bace"].smiles_column == "mol"
    assert MOLECULENET["tox21"].task_columns[0] == "NR-AR" and MOLECULENET["tox21"].task_columns[-1] == "SR-p53"


def test_dataset_info_validates():
    info = MOLECULENET["bbbp"]
    with pytest.raises(ValueError, match="scored with 'rocauc'"):
        dataclasses.replace(info, metric="rmse")
    with pytest.raises(ValueError, match="num_tasks"):
        dataclasses.replace(info, num_tasks=2)
    with pytest.raises(ValueError, match="all of trimmed_file"):
        dataclasses.replace(info, trimmed_file=None)
    with pytest.raises(ValueError, match="split must be one of"):
        dataclasses.replace(info, split="temporal")
    with pytest.raises(ValueError, match="also a task column"):
        DatasetInfo("X", "regression", "rmse", "scaffold", "y", ("y",), 1, "https://example.org/x.csv")


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_embedded_sets_load_with_canonical_task_names(name):
    rows, first_task, task_type = EMBEDDED[name]
    table = load_moleculenet(name)
    info = get_dataset_info(name)
    assert len(table) == rows
    assert table.task_names == info.task_columns
    assert table.task_names[0] == first_task
    assert table.task_type == task_type
    assert table.labels.shape == (rows, info.num_tasks)
    assert not np.isnan(table.labels).any()
    assert all(table.smiles)


def test_embedded_files_match_their_card():
    card = (MOLECULENET_DIR / "README.md").read_text()
    recorded = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.csv)$", card, re.M))
    assert set(recorded) == {info.trimmed_file for info in MOLECULENET.values() if info.trimmed_file}
    for name, digest in recorded.items():
        assert file_sha256(MOLECULENET_DIR / name) == digest, name


@pytest.mark.parametrize("name", ["BBBP", "bbbp", " Lipo ", "Lipophilicity", "DELANEY", "FreeSolv"])
def test_names_are_case_insensitive_with_aliases(name):
    assert get_dataset_info(name).key in MOLECULENET


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        load_moleculenet("pcba")
    for key in MOLECULENET:
        assert key in str(info.value)


def test_canonical_bbbp_layout_gives_the_same_tasks(tmp_path):
    embedded = load_moleculenet("bbbp")
    lines = ["num,name,p_np,smiles"]
    for i in range(5):
        lines.append(f'{i + 1},"compound, {i}",{int(embedded.labels[i, 0])},{embedded.smiles[i]}')
    (tmp_path / "BBBP.csv").write_text("\n".join(lines) + "\n")
    table = load_moleculenet("bbbp", root=tmp_path)
    assert table.task_names == embedded.task_names
    assert table.smiles == embedded.smiles[:5]
    np.testing.assert_array_equal(table.labels, embedded.labels[:5])


def test_canonical_esol_layout_maps_to_the_trimmed_tasks(tmp_path):
    embedded = load_moleculenet("esol")
    header = (
        "Compound ID,ESOL predicted log solubility in mols per litre,Minimum Degree,Molecular Weight,"
        "measured log solubility in mols per litre,smiles"
    )
    rows = [f"c{i},0.5,1,100.0,{embedded.labels[i, 0]:.2f},{embedded.smiles[i]}" for i in range(4)]
    (tmp_path / "delaney-processed.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    table = load_moleculenet("ESOL", root=tmp_path)
    assert table.task_names == embedded.task_names
    np.testing.assert_allclose(table.labels, embedded.labels[:4], atol=1e-6)


def test_trimmed_gzipped_copy_in_root(tmp_path):
    data = (MOLECULENET_DIR / "clintox.csv").read_bytes()
    (tmp_path / "clintox.csv.gz").write_bytes(gzip.compress(data))
    table = load_moleculenet("clintox", root=tmp_path)
    assert len(table) == 1478
    assert table.task_names == ("FDA_APPROVED", "CT_TOX")


def test_canonical_tox21_keeps_missing_labels(tmp_path):
    tasks = MOLECULENET["tox21"].task_columns
    header = ",".join(tasks) + ",mol_id,smiles"
    row0 = ",".join(["0"] * 11 + ["1"]) + ",TOX1,CCOc1ccc2nc(S(N)(=O)=O)sc2c1"
    row1 = ",".join([""] * 6 + ["1"] + [""] * 5) + ",TOX2,CCN1C(=O)NC(c2ccccc2)C1=O"
    path = tmp_path / "tox21.csv.gz"
    path.write_bytes(gzip.compress(f"{header}\n{row0}\n{row1}\n".encode()))
    table = load_moleculenet("tox21", root=tmp_path)
    assert table.task_names == tasks
    assert table.labels[0, -1] == 1 and np.isnan(table.labels[1]).sum() == 11 and table.labels[1, 6] == 1


def test_toxcast_tasks_derived_from_columns(tmp_path):
    (tmp_path / "toxcast_data.csv").write_text("smiles,ACEA_T47D_80hr_Negative,ATG_AR_TRANS_up\nCCO,0,\nC,1,1\n")
    with pytest.warns(UserWarning, match="2 task columns, the catalog expects 617"):
        table = load_moleculenet("toxcast", root=tmp_path)
    assert table.task_names == ("ACEA_T47D_80hr_Negative", "ATG_AR_TRANS_up")
    assert np.isnan(table.labels[0, 1])


def test_file_fitting_no_layout_is_an_error(tmp_path):
    (tmp_path / "bbbp.csv").write_text("smiles,penetrates\nCCO,1\n")
    with pytest.raises(ValueError, match=r"match no layout of BBBP.*'p_np'"):
        load_moleculenet("bbbp", root=tmp_path)


def test_classification_set_rejects_non_binary_labels(tmp_path):
    (tmp_path / "bace.csv").write_text("mol,Class\nCCO,1\nCCN,-1\n")
    with pytest.raises(ValueError, match=r"row 1, column 'Class'"):
        load_moleculenet("bace", root=tmp_path)


def test_missing_file_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_moleculenet("hiv", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "HIV.csv" in message
    assert MOLECULENET["hiv"].url in message


def test_installed_package_falls_back_to_env_var(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "PACKAGE_DATASETS", tmp_path / "no-package-data")  # an install without data
    monkeypatch.setattr(embedded, "REPO_DATASETS", tmp_path / "not-a-checkout")
    with pytest.raises(FileNotFoundError, match="MOLSSL_DATA is not set"):
        load_moleculenet("freesolv")
    (tmp_path / "data" / "moleculenet").mkdir(parents=True)
    (tmp_path / "data" / "moleculenet" / "SAMPL.csv").write_text("iupac,smiles,expt,calc\nmethanol,CO,-5.1,-4.9\n")
    monkeypatch.setenv(catalog.DATA_ENV_VAR, str(tmp_path / "data"))
    table = load_moleculenet("freesolv")
    assert table.task_names == ("expt",)
    assert table.labels[0, 0] == pytest.approx(-5.1)


def test_env_var_takes_precedence_over_the_repository_copy(tmp_path, monkeypatch):
    (tmp_path / "bbbp.csv").write_text("smiles,p_np\nCCO,0\n")
    monkeypatch.setenv(catalog.DATA_ENV_VAR, str(tmp_path))
    table = load_moleculenet("bbbp")
    assert table.smiles == ["CCO"]
    assert table.source == str(tmp_path / "bbbp.csv")
    assert len(load_moleculenet("bace")) == 1513  # not in MOLSSL_DATA: the repository copy
