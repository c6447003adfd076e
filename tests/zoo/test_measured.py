"""The measured transfer summary: read from the data directory, matched to an entry and its baseline."""

from __future__ import annotations

import json

from molssl.zoo.measured import TRANSFER_FILE, measured_transfer

SUMMARY = {
    "protocol": "scaffold split, 50 epochs, seeds [0]",
    "command": "python benchmarks/zoo_transfer.py --epochs 50",
    "arch_of": {"hu2020/gcn_contextpred": "gcn", "none/gcn": "gcn"},
    "encoders": {
        "hu2020/gcn_contextpred": {"full": {"bbbp": {"mean": 70.0, "std": 1.0, "n": 3}}},
        "none/gcn": {"full": {"bbbp": {"mean": 65.0, "std": 2.0, "n": 3}}, "linear_probe": {"bbbp": {"mean": 60.0, "std": 0.5, "n": 3}}},
    },
}


def test_measured_transfer_pairs_an_entry_with_its_baseline(tmp_path, monkeypatch):
    path = tmp_path / TRANSFER_FILE
    path.parent.mkdir()
    path.write_text(json.dumps(SUMMARY))
    monkeypatch.setenv("MOLSSL_DATA", str(tmp_path))
    measured = measured_transfer("hu2020/gcn_contextpred")
    assert measured["command"] == SUMMARY["command"]
    assert measured["modes"] == {"full": {"encoder": {"bbbp": {"mean": 70.0, "std": 1.0, "n": 3}},
                                          "none": {"bbbp": {"mean": 65.0, "std": 2.0, "n": 3}}}}  # fmt: skip
    assert measured_transfer("hu2020/gat_contextpred") is None  # not measured


def test_no_summary_means_not_measured(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLSSL_DATA", str(tmp_path))
    monkeypatch.setattr("molssl.data.embedded.REPO_DATASETS", tmp_path / "nowhere")
    assert measured_transfer("hu2020/gcn_contextpred") is None
