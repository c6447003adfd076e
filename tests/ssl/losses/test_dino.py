"""DINO's loss against a loop over view pairs, items and classes; the center's moving average."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import DINOLoss, dino_loss


def naive_dino(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor, ts: float, tt: float) -> float:
    views, batch, classes = student.shape
    total, pairs = 0.0, 0
    for g in range(teacher.size(0)):
        for v in range(views):
            if v == g:
                continue
            pairs += 1
            pair = 0.0
            for i in range(batch):
                t = [math.exp((teacher[g, i, k].item() - center[k].item()) / tt) for k in range(classes)]
                s = [math.exp(student[v, i, k].item() / ts) for k in range(classes)]
                pair += -sum(t[k] / sum(t) * math.log(s[k] / sum(s)) for k in range(classes))
            total += pair / batch
    return total / pairs


def test_loss_matches_a_loop_over_pairs_items_and_classes():
    g = torch.Generator().manual_seed(0)
    student, teacher, center = torch.randn(4, 3, 5, generator=g), torch.randn(2, 3, 5, generator=g), torch.randn(5, generator=g)
    value = dino_loss(student.double(), teacher.double(), center.double(), 0.1, 0.04)
    assert value.item() == pytest.approx(naive_dino(student, teacher, center, 0.1, 0.04), rel=1e-9)


def test_gradient_reaches_the_student_only():
    student = torch.randn(3, 4, 6, requires_grad=True)
    teacher = torch.randn(2, 4, 6, requires_grad=True)
    dino_loss(student, teacher, torch.zeros(6)).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0


def test_a_student_matching_the_sharpened_teacher_has_lower_loss():
    teacher = torch.randn(2, 8, 10)
    aligned = torch.cat([teacher.flip(0), torch.randn(1, 8, 10)])  # view 1 predicts teacher 0 and back
    shuffled = aligned[:, torch.randperm(8)]
    assert dino_loss(aligned * 2.5, teacher, torch.zeros(10)) < dino_loss(shuffled * 2.5, teacher, torch.zeros(10))


def test_center_moves_towards_the_teachers_batch_mean():
    loss = DINOLoss(3, center_momentum=0.9)
    teacher = torch.tensor([[[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], [[0.0, 0.0, 6.0], [0.0, 4.0, 2.0]]])  # [2, 2, 3]
    loss(torch.randn(3, 2, 3), teacher, 0.04)
    torch.testing.assert_close(loss.center, 0.1 * torch.tensor([1.0, 2.0, 3.0]))
    loss.eval()
    loss(torch.randn(3, 2, 3), teacher, 0.04)  # evaluation leaves the center alone
    torch.testing.assert_close(loss.center, 0.1 * torch.tensor([1.0, 2.0, 3.0]))
    assert "center" in loss.state_dict()


@pytest.mark.parametrize(
    "student, teacher, center, match",
    [((2, 3, 4), (3, 3, 4), (4,), "only 2"), ((2, 3, 4), (2, 3, 5), (5,), "differ"), ((2, 3, 4), (1, 3, 4), (3,), "center"),
     ((1, 3, 4), (1, 3, 4), (4,), "at least two views"), ((3, 4), (1, 3, 4), (4,), r"\[views, B, K\]")],
)  # fmt: skip
def test_shape_errors(student, teacher, center, match):
    with pytest.raises(ValueError, match=match):
        dino_loss(torch.randn(student), torch.randn(teacher), torch.randn(center))
