"""The string-keyed loss registry: every key builds its module, which agrees with its functional twin."""

from __future__ import annotations

import pytest
import torch

from molssl.ssl import losses
from molssl.ssl.losses import LOSSES, get_loss

# key -> (functional twin, arguments builder)
TWINS = {
    "info_nce": losses.info_nce,
    "nt_xent": losses.nt_xent,
    "bce_mi": losses.bce_mi_loss,
    "jsd_mi": losses.jsd_mi_loss,
    "negative_cosine": losses.negative_cosine,
    "barlow_twins": losses.barlow_twins_loss,
    "vicreg": losses.vicreg_loss,
    "scaled_cosine": losses.scaled_cosine_error,
}


def test_every_loss_is_registered():
    assert set(LOSSES) == set(TWINS)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_module_matches_functional_twin(name):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    module = get_loss(name)
    assert isinstance(module, LOSSES[name])
    value = module(a, b)
    assert value.shape == () and torch.isfinite(value)
    assert value.item() == pytest.approx(TWINS[name](a, b).item(), rel=1e-6)


def test_kwargs_reach_the_constructor():
    assert get_loss("nt_xent", temperature=0.2).temperature == 0.2
    with pytest.raises(ValueError, match="temperature"):
        get_loss("nt_xent", temperature=0)
    with pytest.raises(TypeError):
        get_loss("bce_mi", temperature=0.1)


def test_unknown_key_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown loss 'simclr'.*barlow_twins.*vicreg"):
        get_loss("simclr")
    with pytest.raises(ValueError, match="valid losses"):
        get_loss(["nt_xent"])
