"""The run's configuration is plain data: ``RunConfig`` round-trips and reads back a run's config.json."""

from __future__ import annotations

import json

import pytest

from molssl.pretrain.config import PRECISIONS, DataConfig, RunConfig, TrainConfig


def test_run_config_round_trips_through_json():
    config = RunConfig(method="graphcl", method_config={"aug_ratio": 0.3}, encoder={"num_layers": 3},
                       data=DataConfig(path="corpus.smi", options={"scheme": "ogb"}, workers=2),
                       train=TrainConfig(steps=7, precision="bf16"), init="runs/ssl")  # fmt: skip
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.train.steps == 7 and again.data.options == {"scheme": "ogb"}


def test_a_run_config_json_reads_back_without_its_recorded_facts():
    recorded = {**RunConfig().to_dict(), "format": "molssl-pretrain-run", "format_version": 2, "molssl_version": "0.1.0",
                "world_size": 1, "source": {"molecules": 3}}  # fmt: skip
    assert RunConfig.from_dict(recorded) == RunConfig()


def test_unknown_keys_and_bad_values_are_named():
    with pytest.raises(ValueError, match=r"unknown RunConfig keys \['methd'\]; valid keys: method, method_config"):
        RunConfig.from_dict({"methd": "graphcl"})
    with pytest.raises(ValueError, match=r"unknown DataConfig keys \['file'\]"):
        RunConfig.from_dict({"data": {"file": "x.smi"}})
    with pytest.raises(ValueError, match="unknown precision 'fp8'; valid: fp32, bf16, fp16"):
        RunConfig.from_dict({"train": {"precision": "fp8"}})
    with pytest.raises(ValueError, match="workers must be a positive int"):
        DataConfig(workers=0)
    assert PRECISIONS == ("fp32", "bf16", "fp16")
