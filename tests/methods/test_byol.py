"""BYOL: the symmetric loss against a per-sample cosine loop, the teacher's EMA on the cosine momentum schedule, and learning on digits."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.methods.byol import BYOL, BYOLConfig
from molssl.ssl.ema import cosine_momentum
from molssl.views import get_views
from tests.methods.images import DIGIT_VIEWS, TINY_RESNET, TINY_VIT, generator, mean, mnist_batch, train

SMALL = dict(projection_dim=16, projection_hidden_dim=32, prediction_hidden_dim=32, view_options=DIGIT_VIEWS)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a.double() @ b.double() / (a.double().norm() * b.double().norm()))


def test_first_step_loss_matches_a_per_sample_loop():
    """At the first step the target is a copy of the online encoder and projector."""
    torch.manual_seed(0)
    method = BYOL(TINY_RESNET, BYOLConfig(**SMALL)).train()
    method.set_total_steps(10)
    batch = mnist_batch(10)
    output = method(batch, generator(5))
    with torch.no_grad():
        views = get_views("image", "byol")(batch, generator(5), **DIGIT_VIEWS)
        z = [method.projector(method.encoder(v)) for v in views]
        q = [method.predictor(x) for x in z]
    n = batch.num_images
    expected = sum(-(cosine(q[0][i], z[1][i]) + cosine(q[1][i], z[0][i])) / 2 for i in range(n)) / n
    assert output.loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert output.metrics["momentum"].item() == 0.0  # the first update copies the student


def test_no_gradient_reaches_the_target():
    torch.manual_seed(0)
    method = BYOL(TINY_RESNET, BYOLConfig(**SMALL)).train()
    method.set_total_steps(10)
    method(mnist_batch(8), generator()).loss.backward()
    assert all(p.grad is None for p in method.teacher.parameters())
    assert all(not p.requires_grad for p in method.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.predictor.parameters())


def test_teacher_follows_the_cosine_momentum_schedule():
    """Step k moves the teacher with m = cosine_momentum(k - 1, K) from the student the previous step left."""
    torch.manual_seed(0)
    total = 5
    config = BYOLConfig(**SMALL, base_momentum=0.9)
    method = BYOL(TINY_VIT, config).train()
    method.set_total_steps(total)
    optimizer = torch.optim.SGD(method.parameters(), lr=0.5)
    student = lambda: [p.detach().clone() for p in [*method.encoder.parameters(), *method.projector.parameters()]]  # noqa: E731
    teacher = lambda: [p.detach().clone() for p in method.teacher.parameters()]  # noqa: E731
    momenta = []
    for step in range(total):
        before_teacher, before_student = teacher(), student()
        output = method(mnist_batch(8, 8 * step), generator(step))
        m = 0.0 if step == 0 else cosine_momentum(step - 1, total, 0.9, 1.0)
        momenta.append(output.metrics["momentum"].item())
        for t_new, t_old, s in zip(teacher(), before_teacher, before_student):
            torch.testing.assert_close(t_new, m * t_old + (1 - m) * s)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
    assert momenta == pytest.approx([0.0, 0.9, 0.9 + 0.1 * (1 - math.cos(math.pi / 5)) / 2,
                                     0.9 + 0.1 * (1 - math.cos(2 * math.pi / 5)) / 2,
                                     0.9 + 0.1 * (1 - math.cos(3 * math.pi / 5)) / 2])  # fmt: skip
    assert int(method.steps_done) == total


def test_the_step_count_survives_a_state_dict_round_trip():
    torch.manual_seed(0)
    method = BYOL(TINY_VIT, BYOLConfig(**SMALL)).train()
    method.set_total_steps(10)
    for step in range(3):
        method(mnist_batch(8), generator(step))
    copy = BYOL(TINY_VIT, BYOLConfig(**SMALL)).train()
    copy.set_total_steps(10)
    copy.load_state_dict(method.state_dict())
    assert copy.steps_taken() == 3
    a, b = method(mnist_batch(8), generator(9)), copy(mnist_batch(8), generator(9))
    assert a.metrics["momentum"].item() == b.metrics["momentum"].item() == pytest.approx(cosine_momentum(2, 10, 0.996))
    assert a.loss.item() == b.loss.item()


def test_training_without_the_run_length_says_how_to_fix_it():
    method = BYOL(TINY_VIT, BYOLConfig(**SMALL)).train()
    with pytest.raises(RuntimeError, match="set_total_steps"):
        method(mnist_batch(4), generator())
    method.eval()  # evaluation needs no schedule and moves nothing
    before = [p.clone() for p in method.teacher.parameters()]
    assert torch.isfinite(method(mnist_batch(4), generator()).loss)
    assert all(torch.equal(a, b) for a, b in zip(before, method.teacher.parameters()))
    assert method.steps_taken() == 0


@pytest.mark.parametrize("options, match", [({"base_momentum": 1.5}, "base_momentum"),
                                            ({"base_momentum": 0.99, "final_momentum": 0.9}, "exceeds"),
                                            ({"projection_dim": 0}, "projection_dim")])  # fmt: skip
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        BYOLConfig.from_dict(options)


def test_defaults_are_the_papers():
    c = BYOLConfig()
    assert (c.projection_dim, c.projection_hidden_dim, c.prediction_hidden_dim) == (256, 4096, 4096)
    assert (c.base_momentum, c.final_momentum) == (0.996, 1.0)
    assert BYOL.default_views["image"] == "byol" and BYOL.default_views["audio"] == "byola"


def test_loss_decreases_on_digits():
    torch.manual_seed(0)
    method = BYOL(TINY_VIT, BYOLConfig(**SMALL))
    losses = train(method, steps=40, batch_size=32, lr=1e-3)
    assert mean(losses[-8:]) < mean(losses[:8]) - 0.1, (losses[:8], losses[-8:])


def test_pretraining_resumes_bitwise_after_an_interruption(tmp_path):
    """The teacher, the step count behind the momentum schedule and the views all continue exactly."""
    from molssl import pretrain
    from molssl.nn.pretrained import load_encoder
    from tests.methods.images import TINY_VIT_OPTIONS, tiny_run

    options = {**SMALL, "base_momentum": 0.9}
    run = tiny_run(steps=6, batch_size=16, log_every=1, checkpoint_every=3)
    full = pretrain("byol", None, tmp_path / "full", train=run, method_options=options, encoder=TINY_VIT_OPTIONS)

    def interrupt(row):
        if row["step"] == 4:  # after the checkpoint of step 3
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain("byol", None, tmp_path / "cut", train=run, method_options=options, encoder=TINY_VIT_OPTIONS, on_log=interrupt)
    resumed = pretrain("byol", None, tmp_path / "cut", train=run, method_options=options, encoder=TINY_VIT_OPTIONS, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("_per_s")} for r in rows]  # noqa: E731
    assert strip(full.metrics) == strip(resumed.metrics)
    logged = [r["momentum"] for r in full.metrics]
    assert logged == pytest.approx([0.0] + [cosine_momentum(k - 1, 6, 0.9) for k in range(1, 6)], rel=1e-6)
