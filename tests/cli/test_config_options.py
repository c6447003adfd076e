"""CLI options generated from config dataclasses: one per field, with its type, default, choices and help."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from molssl.cli.config_options import add_config_options, config_from_args, field_docs, key_value
from molssl.pretrain.config import PRECISIONS, TrainConfig


def _parser():
    parser = argparse.ArgumentParser()
    add_config_options(parser, TrainConfig)
    return parser


def test_every_train_field_is_an_option_with_its_default():
    parser = _parser()
    actions = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(TrainConfig):
        assert actions[f.name].default == f.default, f.name
        assert actions[f.name].help and "``" not in actions[f.name].help, f.name
    assert tuple(actions["precision"].choices) == PRECISIONS and "--no-progress" in actions["progress"].option_strings
    assert config_from_args(parser.parse_args([]), TrainConfig) == TrainConfig()


def test_parsed_options_build_the_config():
    args = _parser().parse_args(["--steps", "9", "--lr", "0.01", "--precision", "bf16", "--no-progress", "--activation-checkpointing"])
    config = config_from_args(args, TrainConfig)
    assert (config.steps, config.lr, config.precision, config.progress, config.activation_checkpointing) == (9, 0.01, "bf16", False, True)
    with pytest.raises(SystemExit):
        _parser().parse_args(["--precision", "fp8"])


def test_docs_come_from_the_attributes_section():
    docs = field_docs(TrainConfig)
    assert docs["lr"] == "peak learning rate." and docs["batch_size"].endswith("takes batch_size / W).")


def test_key_value_options():
    assert key_value("mask_rate=0.25") == ("mask_rate", 0.25) and key_value("views=simclr") == ("views", "simclr")
    with pytest.raises(argparse.ArgumentTypeError, match="key=value"):
        key_value("mask_rate")
