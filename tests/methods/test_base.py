"""The method base: configs refuse unknown keys, the encoder is built from any registered config."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from molssl.methods import METHODS
from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.nn.encoder import GNNEncoder
from molssl.nn.encoders import config_to_dict


def test_config_from_dict_lists_the_valid_keys():
    assert AttributeMaskingConfig.from_dict({"mask_rate": 0.25}).mask_rate == 0.25
    assert AttributeMaskingConfig.from_dict(None) == AttributeMaskingConfig()
    with pytest.raises(ValueError, match=r"unknown AttributeMaskingConfig keys \['mask_ratio'\]; valid keys: mask_rate, mask_edge"):
        AttributeMaskingConfig.from_dict({"mask_ratio": 0.2})


def test_the_encoder_is_built_from_a_config_or_its_plain_data(small_encoder):
    from_config = AttributeMasking(small_encoder)
    from_dict = AttributeMasking(config_to_dict(small_encoder))
    assert isinstance(from_dict.encoder, GNNEncoder) and from_dict.encoder_config == small_encoder
    a, b = from_config.state_dict(), from_dict.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    with pytest.raises(ValueError, match="an encoder config needs its 'kind'"):
        AttributeMasking({"num_layers": 2})


def test_every_registered_method_declares_its_data_and_encoder():
    for name, cls in METHODS.items():
        assert cls.name == name and cls.modalities() and all(isinstance(m, str) for m in cls.modalities())
        assert "kind" in cls.default_encoder, name
    assert AttributeMasking.modalities() == ("graph",) and AttributeMasking.default_encoder["kind"] == "gnn"


def test_a_method_of_several_modalities_lists_them_default_first():
    @dataclass(frozen=True, kw_only=True)
    class Options(MethodConfig):
        pass

    class Both(PretrainMethod):
        name = "both"
        config_class = Options
        modality = ("image", "audio")

        def forward(self, batch, generator):
            return MethodOutput(torch.zeros(()), {})

    assert Both.modalities() == ("image", "audio")
    with pytest.raises(TypeError, match="Both takes a Options, got AttributeMaskingConfig"):
        Both({"kind": "gnn", "scheme": "hu"}, AttributeMaskingConfig())
