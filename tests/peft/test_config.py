"""PeftConfig: validation, plain-data round trip, only the method's own options recorded."""

from __future__ import annotations

import json

import pytest

from molssl.peft import PEFT_METHODS, PeftConfig


def test_round_trip_records_only_the_methods_options():
    config = PeftConfig(method="lora", lora_rank=4, lora_alpha=8, lora_targets=["convs.0.*"])
    data = json.loads(json.dumps(config.to_dict()))
    assert data == {"method": "lora", "lora_rank": 4, "lora_alpha": 8.0, "lora_targets": ["convs.0.*"]}
    assert PeftConfig.from_dict(data) == config and config.lora_scale == 2.0
    assert PeftConfig(method="gpf").to_dict() == {"method": "gpf"}
    assert set(PEFT_METHODS) == {"adapter", "lora", "bitfit", "gpf", "gpf_plus"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "prefix"}, "unknown PEFT method 'prefix'; valid methods: adapter, lora"),
        ({"method": "lora", "lora_rank": 0}, "lora_rank must be a positive int"),
        ({"method": "adapter", "adapter_dim": 2.5}, "adapter_dim must be a positive int"),
        ({"method": "lora", "lora_alpha": -1}, "lora_alpha must be a positive number"),
        ({"method": "lora", "lora_targets": "convs.*"}, "lora_targets must be a non-empty list"),
        ({"method": "lora", "lora_targets": []}, "lora_targets must be a non-empty list"),
    ],
)
def test_invalid_values_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PeftConfig(**kwargs)


def test_unknown_keys_are_listed():
    with pytest.raises(ValueError, match=r"unknown PeftConfig keys \['rank'\]; valid keys: method, adapter_dim"):
        PeftConfig.from_dict({"method": "lora", "rank": 4})
