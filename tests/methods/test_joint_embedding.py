"""The joint-embedding machinery: recipe choice per modality, the momentum teacher's schedule, retrieval accuracy."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from molssl.methods.joint_embedding import MomentumTeacher, retrieval_top1
from molssl.methods.mae import MAE, MAEConfig
from molssl.methods.simclr import SimCLR, SimCLRConfig
from molssl.ssl.ema import cosine_momentum
from tests.methods.images import TINY_VIT, generator, mnist_batch


def test_recipe_per_modality_and_unknown_modality():
    method = SimCLR(TINY_VIT)
    assert method.recipe("image") == "simclr" and method.recipe("audio") == "byola"
    with pytest.raises(ValueError, match="no default view recipe for 'smell'.*pass views="):
        method.recipe("smell")
    assert SimCLR(TINY_VIT, SimCLRConfig(views="byol")).recipe("smell") == "byol"


def test_default_view_options_apply_to_the_default_recipe_only(monkeypatch):
    seen = []

    def spy(batch, generator, recipe, options=None):
        seen.append((recipe, options))
        return [batch.images, batch.images]

    monkeypatch.setattr("molssl.methods.joint_embedding.make_views", spy)
    options = {"crop_scale": (0.5, 1.0), "flip_p": 0.0}
    monkeypatch.setattr(MAE, "default_view_options", {"image": options})
    batch = mnist_batch(2)
    MAE(TINY_VIT, MAEConfig(decoder_dim=16, decoder_depth=1, decoder_heads=2)).make_views(batch, generator())
    MAE(TINY_VIT, MAEConfig(decoder_dim=16, decoder_depth=1, decoder_heads=2, views="byol")).make_views(batch, generator())
    assert seen == [("mae", options), ("byol", None)]


def test_view_options_must_be_a_dict():
    with pytest.raises(ValueError, match="view_options"):
        SimCLRConfig(view_options=[1, 2])
    assert dataclasses.asdict(SimCLRConfig(view_options={"flip_p": 0.0}))["view_options"] == {"flip_p": 0.0}


def test_momentum_teacher_copies_first_then_follows_the_schedule():
    torch.manual_seed(0)
    encoder, head = nn.Linear(3, 4), nn.Linear(4, 2)
    teacher = MomentumTeacher(encoder, head, base=0.5, final=1.0)
    with torch.no_grad():
        encoder.weight.add_(1.0)  # the student changed after the teacher was built (e.g. loaded weights)
    assert teacher.update(encoder, head, 0, 4) == 0.0
    torch.testing.assert_close(teacher.ema.teacher.encoder.weight, encoder.weight)
    old = teacher.ema.teacher.encoder.weight.clone()
    with torch.no_grad():
        encoder.weight.mul_(2.0)
    m = teacher.update(encoder, head, 3, 4)
    assert m == pytest.approx(cosine_momentum(2, 4, 0.5, 1.0))
    torch.testing.assert_close(teacher.ema.teacher.encoder.weight, m * old + (1 - m) * encoder.weight)
    x = torch.randn(5, 3)
    torch.testing.assert_close(teacher(x), teacher.ema.teacher.head(teacher.ema.teacher.encoder(x)))
    with pytest.raises(ValueError, match="exceeds"):
        MomentumTeacher(encoder, head, base=0.9, final=0.5)


def test_retrieval_top1():
    z = torch.eye(4)
    assert retrieval_top1(z, z).item() == 1.0
    assert retrieval_top1(z, z[[1, 0, 2, 3]]).item() == 0.5
