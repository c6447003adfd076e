"""A new user's loop from the command line: finetune a CSV with an ID column, predict an SD file (real molecules)."""

from __future__ import annotations

import json

import pandas as pd

from molssl.cli.main import main
from tests.conftest import MOLECULENET
from tests.data.test_sdf import write_sdf


def test_finetune_csv_with_ids_then_predict_sdf(tmp_path, capsys):
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:160]
    frame.insert(0, "compound_id", [f"BBBP-{i}" for i in range(len(frame))])
    frame.loc[5, "smiles"] = "C1CC"  # an unclosed ring: skipped, reported with its row
    data = tmp_path / "bbbp_ids.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    code = main(["finetune", str(data), "--out", str(out), "--epochs", "2", "--seeds", "0", "1", "--num-layers", "2",
                 "--emb-dim", "32", "--ensemble", "--standardize", "largest_fragment", "--no-progress"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "task type: classification (detected: every observed label is 0 or 1)" in printed
    assert "test metrics at each seed's best-validation epoch (2 seeds, mean +- std): roc_auc" in printed
    assert "skipped 1 of 160 molecules" in printed and "row 5: 'C1CC'" in printed
    for name in ("metrics.json", "learning_curve.png", "predictions.csv", "skipped.csv", "model/config.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text())["info"]["ensemble"] == {"seeds": [0, 1]}
    assert pd.read_csv(out / "skipped.csv")["row"].tolist() == [5]

    sdf = write_sdf(tmp_path / "query.sdf", pd.read_csv(MOLECULENET / "esol.csv").iloc[:6])
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out / "model"), "--input", str(sdf), "--out", str(predictions)]) == 0
    table = pd.read_csv(predictions, keep_default_na=False)
    assert table["name"].tolist() == [f"ESOL-{i}" for i in range(6)]
    assert {"p_np", "p_np_std", "p_np_calibrated", "domain", "error"} <= set(table.columns)
