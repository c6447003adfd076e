"""Lenient sanitization through fine-tuning and prediction: hypervalent molecules kept, flagged, split and predicted."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from molssl.cli.main import main
from molssl.tasks.finetune import FinetuneConfig
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET
from tests.chem.test_lenient import HYPERVALENT


@pytest.fixture(scope="module")
def table_with_hypervalent(tmp_path_factory):
    with open(MOLECULENET / "bbbp.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:150]
    path = tmp_path_factory.mktemp("lenient") / "bbbp_hypervalent.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", "p_np"])
        writer.writerows([r["smiles"], r["p_np"]] for r in rows)
        writer.writerows([s, i % 2] for i, s in enumerate(sorted(HYPERVALENT)))
    return path


def test_lenient_fit_keeps_flags_and_splits_them(table_with_hypervalent):
    config = FinetuneConfig(epochs=1, seeds=(0,))
    strict = PropertyPredictor(num_layers=2, emb_dim=16).fit(table_with_hypervalent, config=config)
    assert len(strict.info_["skipped"]) == len(HYPERVALENT) and strict.info_["lenient"] == []
    assert sum(strict.info_["split"]["sizes"]) == 150
    lenient = PropertyPredictor(num_layers=2, emb_dim=16).fit(table_with_hypervalent, config=config, sanitize="lenient")
    assert lenient.info_["skipped"] == [] and lenient.info_["sanitize"] == "lenient"
    assert sum(lenient.info_["split"]["sizes"]) == 150 + len(HYPERVALENT)
    flagged = lenient.info_["lenient"]
    assert sorted(r["smiles"] for r in flagged) == sorted(HYPERVALENT)
    assert all(r["index"] >= 150 and "valence" in r["reason"] for r in flagged)
    frame = lenient.predict(sorted(HYPERVALENT), sanitize="lenient")
    assert frame["error"].eq("").all() and np.isfinite(frame["p_np"]).all()
    assert (lenient.predict(sorted(HYPERVALENT))["error"].str.contains("valence")).all()


def test_cli_sanitize_flag(table_with_hypervalent, tmp_path, capsys):
    code = main(["finetune", str(table_with_hypervalent), "--num-layers", "2", "--emb-dim", "16", "--epochs", "1",
                 "--seeds", "0", "--sanitize", "lenient", "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
    assert code == 0
    import json

    info = json.loads((tmp_path / "run" / "metrics.json").read_text())["info"]
    assert len(info["lenient"]) == len(HYPERVALENT)
