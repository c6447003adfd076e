"""The top-level API: every advertised name resolves, and ``import molssl`` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import molssl


@pytest.mark.parametrize("name", molssl.__all__)
def test_public_names_resolve(name):
    assert getattr(molssl, name) is not None


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        molssl.not_a_thing  # noqa: B018


def test_import_is_light():
    code = "import sys, molssl; print(sorted(m for m in ('rdkit', 'torch', 'torch_geometric', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_pretraining_is_at_the_top_level():
    from molssl.pretrain.trainer import pretrain

    assert callable(molssl.pretrain) and molssl.pretrain.pretrain is pretrain  # the package, callable as its function
    assert molssl.TrainConfig is molssl.pretrain.TrainConfig and molssl.RunConfig().train == molssl.TrainConfig()
    assert molssl.get_method("attr_masking") is molssl.METHODS["attr_masking"]
