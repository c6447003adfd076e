"""Both text methods on the shared loop: they train from the Python API and the CLI, resume exactly (randomized
SMILES drawn from the loop's per-step generator), and their encoder fine-tunes through PropertyPredictor."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from molssl.nn.pretrained import load_encoder
from molssl.pretrain import DataConfig, RunConfig, TrainConfig, pretrain
from molssl.tasks.predictor import PropertyPredictor
from molssl.text.encoder import SmilesTransformer
from tests.conftest import moleculenet_head
from tests.text.conftest import moses_slice

ENCODER = {"dim": 32, "depth": 1, "heads": 2, "max_length": 96}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "moses_256.smi"
    path.write_text("SMILES\n" + "\n".join(moses_slice(256)) + "\n")
    return path


def _config(method: str, corpus, **train) -> RunConfig:
    options = {"steps": 8, "batch_size": 16, "lr": 2e-3, "log_every": 2, "checkpoint_every": 4, **train}
    return RunConfig(method=method, data=DataConfig(path=str(corpus)), encoder={"kind": "smiles_transformer", **ENCODER},
                     train=TrainConfig(device="cpu", progress=False, **options))  # fmt: skip


def _rows(result):
    return [{k: v for k, v in r.items() if not k.endswith("_per_s")} for r in result.metrics]


@pytest.mark.parametrize("method", ["smiles_contrastive", "mlm"])
def test_run_resumes_exactly(method, corpus, tmp_path):
    config = _config(method, corpus)
    full = pretrain(config, out=tmp_path / "full")

    def interrupt(row):
        if row["step"] == 6:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain(config, out=tmp_path / "cut", on_log=interrupt)
    resumed = pretrain(config, out=tmp_path / "cut", resume=True)
    a, b = load_encoder(tmp_path / "full" / "encoder").state_dict(), load_encoder(tmp_path / "cut" / "encoder").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _rows(full) == _rows(resumed)
    recorded = json.loads((tmp_path / "full" / "config.json").read_text())
    assert recorded["source"]["views"] == (2 if method == "smiles_contrastive" else 1) and recorded["source"]["vocab_sha256"]


def _pretrain_from_the_cli(method: str, corpus, run, steps: int) -> list[dict]:
    """``molssl pretrain --method METHOD`` on ``corpus`` with a tiny encoder; the run's metric rows."""
    from molssl.cli.main import main

    code = main(["pretrain", "--method", method, "--data", str(corpus), "--out", str(run), "--steps", str(steps),
                 "--batch-size", "16", "--log-every", "2", "--checkpoint-every", "2", "--device", "cpu", "--no-progress",
                 "--encoder-option", "dim=32", "--encoder-option", "depth=1", "--encoder-option", "heads=2"])  # fmt: skip
    assert code == 0
    assert json.loads((run / "config.json").read_text())["method"] == method
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_contrastive_pretrains_from_the_cli(corpus, tmp_path):
    rows = _pretrain_from_the_cli("smiles_contrastive", corpus, tmp_path / "rsc", steps=4)
    assert [r["step"] for r in rows] == [2, 4] and all(0.0 <= r["top1"] <= 1.0 for r in rows)
    assert json.loads((tmp_path / "rsc" / "config.json").read_text())["source"]["views"] == 2
    assert isinstance(load_encoder(tmp_path / "rsc" / "encoder"), SmilesTransformer)


def test_mlm_pretrains_from_the_cli_and_fine_tunes(corpus, tmp_path):
    run = tmp_path / "mlm"
    rows = _pretrain_from_the_cli("mlm", corpus, run, steps=6)
    assert [r["step"] for r in rows] == [2, 4, 6] and 0.1 < rows[-1]["mask_fraction"] < 0.2
    encoder = load_encoder(run / "encoder")
    assert isinstance(encoder, SmilesTransformer)
    data = moleculenet_head("bbbp", 240, tmp_path)
    predictor = PropertyPredictor(encoder="smiles_transformer", device="cpu").fit(data, pretrained=run, epochs=1, seeds=(0,))
    assert predictor.model_.config.encoder == encoder.config.__class__.from_dict({**encoder.config.to_dict(), "dropout": 0.1})
    assert predictor.info_["pretrained_sha256"]


def test_smiles_descriptors_pretrains_from_the_cli_records_its_targets_and_resumes_exactly(corpus, tmp_path, monkeypatch):
    from molssl.cli.main import main

    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    names = ["MolWt", "MolLogP", "TPSA", "RingCount"]
    args = ["pretrain", "--method", "smiles_descriptors", "--data", str(corpus), "-o", f"descriptors={json.dumps(names)}",
            "-o", "mlm_weight=0.5", "--steps", "6", "--batch-size", "16", "--log-every", "2", "--checkpoint-every", "2",
            "--device", "cpu", "--no-progress", "--encoder-option", "dim=32", "--encoder-option", "depth=1",
            "--encoder-option", "heads=2"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "full")]) == 0
    config = json.loads((tmp_path / "full" / "config.json").read_text())
    assert config["method_config"]["descriptors"] == names and config["method_config"]["mlm_weight"] == 0.5
    assert config["source"]["descriptor_targets"]["names"] == names
    rows = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert all("descriptor_loss" in r and "mlm_loss" in r for r in rows)

    def interrupt(row):
        if row["step"] == 4:
            raise KeyboardInterrupt("simulated kill")

    run = dataclasses.replace(_config("smiles_descriptors", corpus, steps=6, batch_size=16, log_every=2, checkpoint_every=2),
                              method_config={"descriptors": names, "mlm_weight": 0.5})  # fmt: skip
    full = pretrain(run, out=tmp_path / "full_py")
    with pytest.raises(KeyboardInterrupt):
        pretrain(run, out=tmp_path / "cut", on_log=interrupt)
    resumed = pretrain(run, out=tmp_path / "cut", resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _rows(full) == _rows(resumed)
