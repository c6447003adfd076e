"""DINO: cross-entropy from a centered, sharpened teacher distribution to the student's, across crops.

Caron et al., "Emerging Properties in Self-Supervised Vision Transformers" (DINO, ICCV 2021).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_positive_float, check_positive_int, check_unit_interval


def _check_logits(student: Tensor, teacher: Tensor, center: Tensor) -> None:
    if student.dim() != 3 or teacher.dim() != 3:
        raise ValueError(
            f"student and teacher logits must be [views, B, K], got {tuple(student.shape)} and {tuple(teacher.shape)}"
        )
    if student.shape[1:] != teacher.shape[1:]:
        raise ValueError(f"student {tuple(student.shape)} and teacher {tuple(teacher.shape)} logits differ in [B, K]")
    if teacher.size(0) > student.size(0):
        raise ValueError(
            f"the teacher sees {teacher.size(0)} views but the student only {student.size(0)}; the student sees every "
            "view, its first ones being the teacher's"
        )
    if center.shape != (teacher.size(2),):
        raise ValueError(f"center must be [K] = [{teacher.size(2)}], got {tuple(center.shape)}")


def dino_targets(teacher: Tensor, center: Tensor, teacher_temperature: float = 0.04) -> Tensor:
    """The teacher's centered, sharpened distributions ``softmax((teacher - center) / teacher_temperature)``, no gradient.

    Shapes:
        teacher: [G, B, K]; center: [K] -> [G, B, K]
    """
    return F.softmax((teacher.detach() - center) / teacher_temperature, dim=-1)


def dino_loss(
    student: Tensor, teacher: Tensor, center: Tensor, student_temperature: float = 0.1, teacher_temperature: float = 0.04
) -> Tensor:
    """DINO loss (Caron et al., ICCV 2021, eq. 3 with centering, section 3.1).

    The teacher sees the G global views, the student all V >= G views, the first G of which are the same
    global views. With ``P_t(g) = softmax((teacher_g - center) / teacher_temperature)`` (no gradient)
    and ``log P_s(v) = log_softmax(student_v / student_temperature)``::

        loss = mean over pairs (g, v), v != g, of mean_i ( -sum_k P_t(g)_ik log P_s(v)_ik )

    Args:
        student: the student's head outputs for every view.
        teacher: the teacher's head outputs for the global views.
        center: running mean of the teacher's outputs (``DINOLoss`` keeps it).
        student_temperature: tau_s (paper: 0.1).
        teacher_temperature: tau_t, lower for sharper targets (paper: 0.04 to 0.07).

    Shapes:
        student: [V, B, K]; teacher: [G, B, K], G <= V, G + V >= 3; center: [K] -> output: [] scalar

    Raises:
        ValueError: on mismatched shapes, no pair of distinct views, or temperatures <= 0.
    """
    _check_logits(student, teacher, center)
    check_positive_float("student_temperature", student_temperature)
    check_positive_float("teacher_temperature", teacher_temperature)
    num_global, num_views = teacher.size(0), student.size(0)
    pairs = num_global * num_views - num_global  # pairs (g, v) with v != g
    if pairs < 1:
        raise ValueError("DINO needs at least two views (one teacher view and another student view)")
    targets = dino_targets(teacher, center, teacher_temperature)  # [G, B, K]
    log_probs = F.log_softmax(student / student_temperature, dim=-1)  # [V, B, K]
    # cross[g, v] = mean_i -sum_k P_t(g)_ik log P_s(v)_ik, for every pair at once
    cross = -torch.einsum("gbk,vbk->gv", targets, log_probs) / student.size(1)  # [G, V]
    same_view = torch.eye(num_global, num_views, dtype=torch.bool, device=cross.device)
    return cross.masked_fill(same_view, 0.0).sum() / pairs


class DINOLoss(nn.Module):
    """DINO loss with the teacher's center (Caron et al., ICCV 2021); see ``dino_loss``.

    ``forward`` returns the loss against the current center and, in training mode, then moves the
    center towards the batch mean of the teacher's outputs: ``c <- m c + (1 - m) mean(teacher)``
    (averaged over all processes when ``torch.distributed`` is initialized, as DINO's code does).

    Args:
        out_dim: K, the size of the head's output.
        student_temperature: tau_s (paper: 0.1).
        center_momentum: m (paper: 0.9).

    Shapes:
        student: [V, B, K]; teacher: [G, B, K] -> output: [] scalar
    """

    def __init__(self, out_dim: int, student_temperature: float = 0.1, center_momentum: float = 0.9) -> None:
        super().__init__()
        check_positive_int("out_dim", out_dim)
        self.student_temperature = check_positive_float("student_temperature", student_temperature)
        self.center_momentum = check_unit_interval("center_momentum", center_momentum)
        self.register_buffer("center", torch.zeros(out_dim))

    def forward(self, student: Tensor, teacher: Tensor, teacher_temperature: float) -> Tensor:
        loss = dino_loss(student, teacher, self.center, self.student_temperature, teacher_temperature)
        if self.training:
            self.update_center(teacher)
        return loss

    @torch.no_grad()
    def update_center(self, teacher: Tensor) -> None:
        """Move the center towards the mean of ``teacher`` ([G, B, K]) over views and items."""
        mean = teacher.detach().float().mean(dim=(0, 1))  # [K]
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(mean)
            mean /= dist.get_world_size()
        self.center.mul_(self.center_momentum).add_(mean.to(self.center.dtype), alpha=1.0 - self.center_momentum)

    def extra_repr(self) -> str:
        return f"out_dim={self.center.numel()}, student_temperature={self.student_temperature}, center_momentum={self.center_momentum}"
