"""``molssl split`` with the out-of-distribution methods: each method's guarantee holds on the rows it writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from molssl.cli.main import main

MOLECULENET = Path(__file__).resolve().parents[2] / "datasets" / "moleculenet"


def rows_of(name: str) -> list[dict]:
    with open(MOLECULENET / f"{name}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def split_of(tmp_path: Path, *argv: str) -> dict:
    out = tmp_path / "split.json"
    assert main(["split", *argv, "--out", str(out)]) == 0
    return json.loads(out.read_text())


def heavy_atoms(smiles: str) -> int:
    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(smiles).GetNumHeavyAtoms()


def test_size_split_puts_the_largest_molecules_in_test(tmp_path, capsys) -> None:
    split = split_of(tmp_path, str(MOLECULENET / "esol.csv"), "--method", "size")
    assert "size split of esol.csv" in capsys.readouterr().out
    data = rows_of("esol")
    size = {part: [heavy_atoms(data[r]["smiles"]) for r in split[part]] for part in ("train", "valid", "test")}
    assert max(size["train"]) <= min(size["valid"]) and max(size["valid"]) <= min(size["test"])
    assert len(split["train"]) + len(split["valid"]) + len(split["test"]) == len(data)


def test_property_range_split_tests_on_the_upper_tail(tmp_path) -> None:
    split = split_of(tmp_path, str(MOLECULENET / "esol.csv"), "--method", "property_range", "--label-column", "logp")
    data = rows_of("esol")
    value = {part: [float(data[r]["logp"]) for r in split[part]] for part in ("train", "valid", "test")}
    assert max(value["train"]) <= min(value["test"]) and max(value["valid"]) <= min(value["test"])


def test_scaffold_cluster_split_shares_no_scaffold_across_parts(tmp_path) -> None:
    split = split_of(tmp_path, str(MOLECULENET / "bbbp.csv"), "--method", "scaffold_cluster")
    data = rows_of("bbbp")

    def scaffolds(part: str) -> set[str]:
        out = set()
        with rdBase.BlockLogs():
            for r in split[part]:
                mol = Chem.MolFromSmiles(data[r]["smiles"])
                out.add(MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False))
        return out

    train, test = scaffolds("train"), scaffolds("test")
    assert not (train & test - {""}) and len(split["test"]) > 0.05 * len(data)


def test_low_data_split_draws_k_from_the_scaffold_train_part(tmp_path) -> None:
    """k = 16 labelled BBBP molecules, both classes, from the scaffold split's train part; valid/test are its."""
    argv = (str(MOLECULENET / "bbbp.csv"), "--method", "low_data", "--label-column", "p_np", "--option", "k=16")
    split = split_of(tmp_path, *argv, "--seed", "3")
    scaffold = split_of(tmp_path, str(MOLECULENET / "bbbp.csv"), "--label-column", "p_np")
    data = rows_of("bbbp")
    labels = [data[r]["p_np"] for r in split["train"]]
    assert len(labels) == 16 and {"0", "1"} <= set(labels) and set(split["train"]) <= set(scaffold["train"])
    assert split["test"] == scaffold["test"] and split["valid"] == scaffold["valid"]
    again = split_of(tmp_path, *argv, "--seed", "4")
    assert again["train"] != split["train"] and again["test"] == split["test"]  # another draw, the same test part
