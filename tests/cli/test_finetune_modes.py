"""``molssl finetune --mode adapter|lora|...``: options, trainable-parameter printout, delta checkpoint, predict."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest
import torch

from molssl.cli.finetune_modes import add_mode_arguments, mode_options, save_as_delta
from molssl.cli.main import main
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import save_encoder
from tests.conftest import moleculenet_head


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pretrained", default=None)
    add_mode_arguments(parser)
    return parser.parse_args(list(argv))


def test_only_the_chosen_modes_options_reach_the_config():
    assert mode_options(_parse("--mode", "lora", "--lora-rank", "4", "--adapter-dim", "7")) == {
        "mode": "lora", "last_k": 1, "peft": {"lora_rank": 4, "lora_alpha": 16.0}, "lp_epochs": None,
    }  # fmt: skip  (no --lora-targets: the encoder's default, filled in by the model config)
    assert mode_options(_parse("--mode", "lora", "--lora-targets", "blocks.0.*"))["peft"]["lora_targets"] == ["blocks.0.*"]
    assert mode_options(_parse("--mode", "lp_ft", "--lp-epochs", "3"))["lp_epochs"] == 3
    assert mode_options(_parse("--mode", "full", "--lp-epochs", "3"))["lp_epochs"] is None
    assert save_as_delta(_parse("--mode", "gpf", "--pretrained", "enc")) and not save_as_delta(_parse("--mode", "gpf"))
    assert not save_as_delta(_parse("--mode", "full", "--pretrained", "enc"))
    with pytest.raises(ValueError, match="--checkpoint delta needs --pretrained"):
        save_as_delta(_parse("--checkpoint", "delta"))


def test_finetune_adapter_prints_trainable_parameters_saves_a_delta_and_predicts(tmp_path, capsys):
    data = moleculenet_head("bbbp", 160, tmp_path)
    torch.manual_seed(0)
    save_encoder(GNNEncoder(EncoderConfig(scheme="hu", num_layers=2, emb_dim=32)), tmp_path / "encoder")
    out = tmp_path / "run"
    code = main(["finetune", str(data), "--out", str(out), "--epochs", "1", "--num-layers", "2", "--emb-dim", "32",
                 "--pretrained", str(tmp_path / "encoder"), "--mode", "adapter", "--adapter-dim", "4", "--no-progress"])  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    # 2 adapters of 32 -> 4 -> 32, the mean readout (no weights) and a head of 32 -> 1
    assert metrics["trainable_parameters"] == 2 * (32 * 4 + 4 + 4 * 32 + 32) + 33
    assert f"trainable parameters: {metrics['trainable_parameters']:,} of {metrics['total_parameters']:,}" in capsys.readouterr().out
    config = json.loads((out / "model" / "config.json").read_text())["config"]
    assert config["kind"] == "property_predictor_delta" and config["predictor"]["peft"] == {"method": "adapter", "adapter_dim": 4}
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out / "model"), "--input", str(data), "--out", str(predictions)]) == 0
    assert pd.read_csv(predictions)["p_np"].between(0, 1).all()
