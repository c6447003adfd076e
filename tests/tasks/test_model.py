"""PropertyModel's fine-tuning modes: which dropouts a frozen encoder keeps (issue 11's last_k defect)."""

from __future__ import annotations

import pytest
import torch

from molssl.chem.featurize import featurize_many
from molssl.data.loader import StoreLoader
from molssl.tasks.model import PredictorConfig, PropertyModel, frozen_modules_eval, set_trainable
from tests.conftest import moleculenet_smiles


@pytest.fixture(scope="module")
def batch():
    graphs = featurize_many(moleculenet_smiles("bbbp", 24), scheme="hu").graphs
    return next(iter(StoreLoader(graphs, batch_size=24)))


def _model(mode: str, last_k: int = 1, **encoder) -> PropertyModel:
    torch.manual_seed(0)
    model = PropertyModel(PredictorConfig(encoder={"scheme": "hu", "num_layers": 4, "emb_dim": 16, "dropout": 0.5, **encoder}))
    set_trainable(model, mode, last_k)
    model.train()
    frozen_modules_eval(model)
    return model


def _layer_inputs(model: PropertyModel, batch) -> list[torch.Tensor]:
    """The input of every conv in one forward, h^0 .. h^{L-1}."""
    seen: list[torch.Tensor] = []
    hooks = [conv.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone())) for conv in model.encoder.convs]
    with torch.no_grad():
        model.encoder(batch)
    for hook in hooks:
        hook.remove()
    return seen


@pytest.mark.parametrize("last_k", [1, 2])
def test_last_k_drops_nothing_after_frozen_layers(batch, last_k):
    model = _model("last_k", last_k)
    assert [d.training for d in model.encoder.dropouts] == [False] * (4 - last_k) + [True] * last_k
    first, second = _layer_inputs(model, batch), _layer_inputs(model, batch)
    frozen = 4 - last_k  # h^0 .. h^{4-k} feed trained layers: fixed features, the same in every forward
    assert all(torch.equal(a, b) for a, b in zip(first[: frozen + 1], second[: frozen + 1]))
    if last_k > 1:  # the output of a trained layer that feeds another keeps its dropout
        assert not torch.equal(first[-1], second[-1])
    with torch.no_grad():
        assert not torch.equal(model.encoder(batch), model.encoder(batch))


def test_full_finetuning_and_trainable_virtual_node_keep_every_dropout(batch):
    assert all(d.training for d in _model("full").encoder.dropouts)
    # with a virtual node its MLPs train in last_k, and every layer's input depends on them
    assert all(d.training for d in _model("last_k", 1, virtual_node=True).encoder.dropouts)
    assert not any(d.training for d in _model("linear_probe").encoder.dropouts)


def test_full_finetuning_forward_is_unchanged_by_the_switch(batch):
    """``frozen_modules_eval`` leaves full fine-tuning's draws alone: same output as without calling it."""
    model = _model("full")
    torch.manual_seed(3)
    with torch.no_grad():
        a = model(batch)
    model.train()
    torch.manual_seed(3)
    with torch.no_grad():
        b = model(batch)
    assert torch.equal(a, b)
