"""The collapse monitors inside the pretraining loop: a collapsed method is flagged, a healthy one is not."""

from __future__ import annotations

import warnings

import pytest
import torch

import molssl.methods
from molssl.methods.base import MethodOutput, PretrainMethod
from molssl.pretrain import pretrain
from tests.pretrain.conftest import SMALL_ENCODER, fast


class ConstantEmbeddings(PretrainMethod):
    """A test-only method that trains the encoder but reports the same embedding for every molecule."""

    name = "constant_embeddings"

    def forward(self, batch, generator: torch.Generator) -> MethodOutput:
        h = self.encoder(batch)
        loss = h.pow(2).mean()
        constant = torch.ones(int(batch.num_graphs), h.size(1), device=h.device)
        return MethodOutput(loss, {}, embeddings=constant, embeddings2=constant)


def test_collapsed_method_warns_and_marks_every_row(store, tmp_path):
    with molssl.methods.METHODS.override(ConstantEmbeddings.name, ConstantEmbeddings), \
            pytest.warns(RuntimeWarning, match="effective rank") as caught:
        result = pretrain(ConstantEmbeddings.name, store, tmp_path / "collapsed", encoder=SMALL_ENCODER,
                          train=fast(steps=10, log_every=5, checkpoint_every=10))  # fmt: skip
    assert sum("effective rank" in str(w.message) for w in caught) == 2  # one warning per logged row
    rows = result.metrics  # read back from metrics.jsonl
    assert [r["step"] for r in rows] == [5, 10]
    assert all(r["collapse_warning"] is True for r in rows)
    assert all(r["effective_rank"] == 0.0 and r["emb_std"] == 0.0 and r["alignment"] == 0.0 for r in rows)


@pytest.mark.parametrize("method", ["graphcl", "infograph"])
def test_healthy_method_does_not_warn(method, store, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(method, store, tmp_path / method, encoder=SMALL_ENCODER,
                          train=fast(steps=10, log_every=5, checkpoint_every=10))  # fmt: skip
    assert not [w for w in caught if "effective rank" in str(w.message) or "collapse" in str(w.message)]
    rows = result.metrics
    assert rows and all("collapse_warning" not in r for r in rows)
    assert all(r["effective_rank"] > 2.0 for r in rows)
    if method == "graphcl":  # two views: their alignment is logged
        assert all(r["alignment"] > 0.0 for r in rows)


def test_collapse_advice_fits_the_method(store, tmp_path):
    """A method without augmentations or a temperature is not told to change them (issue 11)."""

    class Collapsing(ConstantEmbeddings):
        name = "collapsing"
        collapse_advice = "lower the learning rate (lr), or stop reporting constant embeddings"

    with molssl.methods.METHODS.override(Collapsing.name, Collapsing), \
            pytest.warns(RuntimeWarning, match="effective rank") as caught:
        pretrain(Collapsing.name, store, tmp_path / "collapsed", encoder=SMALL_ENCODER,
                 train=fast(steps=5, log_every=5, checkpoint_every=5))  # fmt: skip
    message = next(str(w.message) for w in caught if "effective rank" in str(w.message))
    assert message.endswith("To fix: lower the learning rate (lr), or stop reporting constant embeddings")
    assert "augmentation" not in message and "temperature" not in message


@pytest.mark.parametrize("name", sorted(molssl.methods.METHODS))
def test_every_method_advises_only_its_own_knobs(name):
    import dataclasses
    import re

    method = molssl.methods.METHODS[name]
    advice = method.collapse_advice
    options = {f.name for f in dataclasses.fields(method.config_class)}
    named = set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b(?:temperature|momentum|negatives|candidates|lr)\b", advice))
    assert named and named <= options | {"lr", "min_effective_rank"}, (advice, named - options)
    # graph augmentations are options of their own; the other modalities' come from a view recipe (views, view_options)
    if any(o.startswith(("aug", "feature_mask", "edge_drop")) for o in options):
        assert "augmentation" in advice
    if "augmentation" in advice:
        assert any(o.startswith(("aug", "feature_mask", "edge_drop", "views")) for o in options)
    assert ("temperature" in advice) == any("temperature" in o for o in options)
