"""EMA teacher update math, frozen copy, buffers, structure checks, and the cosine momentum schedule."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from molssl.ssl.ema import EMATeacher, cosine_momentum


def student() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))


def test_teacher_is_a_frozen_deep_copy():
    s = student()
    ema = EMATeacher(s, momentum=0.9)
    for (name, t), (_, p) in zip(ema.teacher.named_parameters(), s.named_parameters()):
        assert torch.equal(t, p) and t.data_ptr() != p.data_ptr(), name
        assert not t.requires_grad and p.requires_grad
    assert all(key.startswith("teacher.") for key in ema.state_dict())
    out = ema(torch.randn(5, 4))
    assert out.shape == (5, 2) and not out.requires_grad


def test_update_is_m_t_plus_one_minus_m_s_and_copies_buffers():
    s = student()
    ema = EMATeacher(s, momentum=0.9)
    before = {k: v.clone() for k, v in ema.teacher.named_parameters()}
    with torch.no_grad():
        for p in s.parameters():
            p.add_(torch.randn_like(p))
    s.train()(torch.randn(16, 4))  # moves the student's BatchNorm statistics
    ema.update(s)
    for name, t in ema.teacher.named_parameters():
        expected = 0.9 * before[name] + 0.1 * dict(s.named_parameters())[name]
        assert torch.allclose(t, expected, atol=1e-6), name
    for (name, t), (_, b) in zip(ema.teacher.named_buffers(), s.named_buffers()):
        assert torch.equal(t, b), name
    # a per-call momentum overrides the default
    target = {k: v.detach().clone() for k, v in s.named_parameters()}
    ema.update(s, momentum=0.0)
    for name, t in ema.teacher.named_parameters():
        assert torch.equal(t, target[name])


def test_momentum_one_keeps_the_teacher_and_repeated_updates_converge():
    s = student()
    ema = EMATeacher(s, momentum=1.0)
    with torch.no_grad():
        for p in s.parameters():
            p.fill_(2.0)
    ema.update(s)
    assert not any(torch.equal(t, torch.full_like(t, 2.0)) for t in ema.teacher.parameters())
    for _ in range(200):
        ema.update(s, momentum=0.9)
    assert all(torch.allclose(t, torch.full_like(t, 2.0), atol=1e-6) for t in ema.teacher.parameters())


def test_teacher_gets_no_gradient_from_a_loss():
    s = student()
    ema = EMATeacher(s)
    loss = (s(torch.randn(4, 4)) - ema(torch.randn(4, 4))).square().sum()
    loss.backward()
    assert all(t.grad is None for t in ema.teacher.parameters())


def test_structure_mismatch_and_bad_momentum():
    ema = EMATeacher(student())
    with pytest.raises(ValueError, match="differ from the teacher"):
        ema.update(nn.Linear(4, 2))
    other = student()
    other[0] = nn.Linear(4, 3, bias=True)
    other[0].weight = nn.Parameter(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="'0.weight'"):
        ema.update(other)
    with pytest.raises(ValueError, match="momentum"):
        EMATeacher(student(), momentum=1.5)
    with pytest.raises(ValueError, match="momentum"):
        ema.update(student(), momentum=-0.1)


def test_cosine_momentum_schedule():
    assert cosine_momentum(0, 100, base=0.996) == pytest.approx(0.996)
    assert cosine_momentum(100, 100, base=0.996) == pytest.approx(1.0)
    assert cosine_momentum(50, 100, base=0.99, final=1.0) == pytest.approx(0.995)
    assert cosine_momentum(25, 100, base=0.9, final=0.99) == pytest.approx(0.99 - 0.09 * (math.cos(math.pi / 4) + 1) / 2)
    assert cosine_momentum(500, 100) == 1.0
    values = [cosine_momentum(k, 40) for k in range(41)]
    assert all(a <= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("args", "match"),
    [((-1, 10), "step"), ((1.5, 10), "step"), ((0, 0), "total_steps"), ((0, 10, 1.1), "base"), ((0, 10, 0.99, 0.9), "exceeds")],
)
def test_cosine_momentum_validation(args, match):
    with pytest.raises(ValueError, match=match):
        cosine_momentum(*args)
