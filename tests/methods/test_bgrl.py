"""BGRL: atom-aligned views, the symmetric loss recomputed atom by atom, and the EMA teacher's updates."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.graph.batch import to_batch
from molssl.methods.bgrl import BGRL, BGRLConfig
from molssl.ssl.ema import cosine_momentum
from tests.methods.conftest import generator


def cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_views_keep_every_atom_and_differ(real_batch, small_encoder):
    v1, v2 = BGRL(small_encoder).views(real_batch, generator(1))
    for view in (v1, v2):
        assert torch.equal(view.ptr, real_batch.ptr) and view.num_graphs == real_batch.num_graphs
        masked = (view.x != real_batch.x).any(dim=1)
        assert masked.any() and bool((view.x[masked] == torch.tensor([119, 0])).all())
        assert 0 < view.edge_index.size(1) < real_batch.edge_index.size(1)  # bonds dropped, none added
    assert not torch.equal(v1.x, v2.x) and not torch.equal(v1.edge_index, v2.edge_index)
    assert real_batch.x[:, 0].max() < 119


def test_loss_against_a_per_atom_loop(real_batch, small_encoder):
    torch.manual_seed(0)
    method = BGRL(small_encoder).eval()
    with torch.no_grad():  # a teacher that differs from the student, so the two branches are distinguishable
        for p in method.teacher.ema.teacher.encoder.parameters():
            p.add_(0.1 * torch.randn_like(p))
    out = method(real_batch, generator(2))
    v1, v2 = method.views(real_batch, generator(2))
    with torch.no_grad():
        q1, q2 = method.predictor(method.encoder(v1)).tolist(), method.predictor(method.encoder(v2)).tolist()
        t1, t2 = method.teacher(v1).tolist(), method.teacher(v2).tolist()
    n = len(q1)
    expected = -(sum(cos(q1[i], t2[i]) for i in range(n)) / n + sum(cos(q2[i], t1[i]) for i in range(n)) / n) / 2
    assert out.loss.item() == pytest.approx(expected, abs=1e-5)
    assert out.embeddings.shape == out.embeddings2.shape == (real_batch.num_graphs, small_encoder.emb_dim)


def test_no_gradient_reaches_the_teacher(real_batch, small_encoder):
    method = BGRL(small_encoder)
    method(real_batch, generator()).loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in method.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.predictor.parameters())


def test_teacher_is_copied_first_then_follows_the_student_as_an_ema(real_batch, small_encoder):
    method = BGRL(small_encoder, BGRLConfig(momentum=0.9)).train()
    with torch.no_grad():  # an encoder loaded after construction (``pretrain(init=...)``)
        for p in method.encoder.parameters():
            p.add_(1.0)
    method(real_batch, generator(0))
    student = dict(method.encoder.named_parameters())
    teacher = dict(method.teacher.ema.teacher.encoder.named_parameters())
    assert all(torch.equal(teacher[k], student[k]) for k in student) and int(method.steps_done) == 1
    before = {k: v.detach().clone() for k, v in teacher.items()}
    with torch.no_grad():
        for p in method.encoder.parameters():
            p.add_(0.5)
    method(real_batch, generator(1))
    assert all(torch.allclose(teacher[k], 0.9 * before[k] + 0.1 * student[k], atol=1e-6) for k in student)
    # a reloaded (resumed) method does not copy the student again
    fresh = BGRL(small_encoder, BGRLConfig(momentum=0.9)).train()
    fresh.load_state_dict(method.state_dict())
    with torch.no_grad():
        for p in fresh.encoder.parameters():
            p.add_(0.5)
    reloaded = {k: v.detach().clone() for k, v in fresh.teacher.ema.teacher.encoder.named_parameters()}
    fresh(real_batch, generator(2))
    moved = dict(fresh.teacher.ema.teacher.encoder.named_parameters())
    fresh_student = dict(fresh.encoder.named_parameters())
    assert all(torch.allclose(moved[k], 0.9 * reloaded[k] + 0.1 * fresh_student[k], atol=1e-6) for k in moved)


def test_eval_forward_leaves_the_teacher_alone(real_batch, small_encoder):
    method = BGRL(small_encoder).eval()
    before = [p.detach().clone() for p in method.teacher.parameters()]
    method(real_batch, generator())
    assert all(torch.equal(a, b) for a, b in zip(before, method.teacher.parameters()))
    assert int(method.steps_done) == 0


def test_config_is_validated():
    with pytest.raises(ValueError, match="momentum"):
        BGRLConfig(momentum=1.0)
    with pytest.raises(ValueError, match="edge_drop2"):
        BGRLConfig(edge_drop2=-0.1)
    with pytest.raises(ValueError, match="predictor_hidden_dim"):
        BGRLConfig(predictor_hidden_dim=0)
    with pytest.raises(ValueError, match="final_momentum 0.9 is below momentum 0.99"):
        BGRLConfig(final_momentum=0.9)
    with pytest.raises(ValueError, match="final_momentum"):
        BGRLConfig(final_momentum=1.5)
    assert BGRLConfig.from_dict(BGRLConfig(feature_mask1=0.0).to_dict()).feature_mask1 == 0.0


def _train(method: BGRL, moses_graphs, steps: int, reference_momentum) -> None:
    """``steps`` optimizer steps; beside them, the teacher recomputed from its definition (copy, then EMA)."""
    optimizer = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-2)
    reference: dict[str, torch.Tensor] = {}
    for step in range(steps):
        batch = to_batch(moses_graphs.select(torch.arange(16 * step, 16 * step + 32).numpy()))
        student = {k: v.detach().clone() for k, v in method.encoder.named_parameters()}  # what the teacher moves to
        loss = method(batch, generator(step)).loss
        m = reference_momentum(step)
        for k, s in student.items():
            reference[k] = s.clone() if step == 0 else reference[k].mul_(m).add_(s, alpha=1.0 - m)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    teacher = dict(method.teacher.ema.teacher.encoder.named_parameters())
    assert all(torch.equal(teacher[k], reference[k]) for k in reference)  # bitwise: the same float operations


def test_constant_momentum_is_the_earlier_ema_bitwise(moses_graphs, small_encoder):
    # the earlier BGRL (own EMATeacher, copied at the first training step, then t = m t + (1 - m) s at every
    # step) is this reference; on the shared MomentumTeacher a constant momentum gives exactly m every step
    torch.manual_seed(0)
    _train(BGRL(small_encoder, BGRLConfig(momentum=0.9)).train(), moses_graphs, 6, lambda step: 0.9)


def test_final_momentum_follows_byols_cosine_schedule(moses_graphs, small_encoder):
    torch.manual_seed(0)
    method = BGRL(small_encoder, BGRLConfig(momentum=0.9, final_momentum=1.0)).train()
    with pytest.raises(RuntimeError, match="set_total_steps"):
        method(to_batch(moses_graphs.select(torch.arange(8).numpy())), generator())
    method = BGRL(small_encoder, BGRLConfig(momentum=0.9, final_momentum=1.0)).train()
    method.set_total_steps(4)
    _train(method, moses_graphs, 6, lambda step: 0.0 if step == 0 else cosine_momentum(step - 1, 4, 0.9, 1.0))
