"""molssl.ssl.plain_config.PlainConfig: to_dict/from_dict round trips, unknown keys refused, subclasses' own forms."""

from __future__ import annotations

import dataclasses
import json

import pytest

from molssl.ssl.plain_config import PlainConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Loader(PlainConfig):
    batch_size: int = 32
    shuffle: bool = True
    options: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")


def test_round_trip_through_json_equals_the_config():
    config = _Loader(batch_size=8, options={"a": [1, 2]})
    data = config.to_dict()
    assert data == {"batch_size": 8, "shuffle": True, "options": {"a": [1, 2]}}
    assert _Loader.from_dict(json.loads(json.dumps(data))) == config
    data["options"]["a"].append(3)  # to_dict hands out a copy, not the config's own containers
    assert config.options == {"a": [1, 2]}


def test_unknown_keys_are_listed_with_the_valid_ones_and_values_still_validated():
    with pytest.raises(ValueError, match=r"^unknown _Loader keys \['batchsize', 'zz'\]; valid keys: batch_size, shuffle, options$"):
        _Loader.from_dict({"batchsize": 8, "zz": 1})
    with pytest.raises(ValueError, match="batch_size must be positive"):
        _Loader.from_dict({"batch_size": 0})
    assert _Loader.from_dict({}) == _Loader()


def test_the_configs_that_repeat_it_share_it():
    from molssl.methods.base import MethodConfig
    from molssl.nn.encoder import EncoderConfig
    from molssl.peft.config import PeftConfig
    from molssl.pretrain.config import DataConfig, RunConfig, TrainConfig
    from molssl.ssl.heads import HeadConfig
    from molssl.tasks.finetune_config import FinetuneConfig
    from molssl.tasks.transfer_config import TransferConfig
    from molssl.audio.logmel import LogMelConfig

    for cls in (MethodConfig, EncoderConfig, PeftConfig, DataConfig, RunConfig, TrainConfig, HeadConfig, TransferConfig,
                FinetuneConfig, LogMelConfig):
        assert issubclass(cls, PlainConfig), cls
    assert "to_dict" not in vars(TrainConfig) and "from_dict" not in vars(TrainConfig)
