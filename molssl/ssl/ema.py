"""An exponential-moving-average teacher and BYOL's cosine momentum schedule.

The teacher (BYOL's target network, Grill et al., NeurIPS 2020; MoCo's momentum encoder, He et al.,
CVPR 2020; BGRL's target, Thakoor et al., ICLR 2022) is a frozen deep copy of the student whose
parameters trail the student's: ``t <- m t + (1 - m) s`` after every optimizer step.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from molssl.ssl.checks import check_positive_int, check_unit_interval


class EMATeacher(nn.Module):
    """A frozen copy of a student network updated as an exponential moving average (BYOL, Grill et al. 2020).

    ``update(student)`` sets every teacher parameter to ``m * t + (1 - m) * s`` and copies every buffer
    (BatchNorm running statistics, counters) from the student. The teacher's parameters never require
    gradients, so an optimizer built over a module holding the teacher leaves them alone; the student
    is passed to ``update`` rather than stored, so it is not saved twice in a state dict.

    Args:
        student: the network to copy; it must keep its structure (the teacher checks names and shapes).
        momentum: default ``m`` in [0, 1] (BYOL: 0.996 at the start of its cosine schedule).

    Shapes:
        forward: whatever the student takes and returns, computed without gradients.
    """

    def __init__(self, student: nn.Module, momentum: float = 0.99) -> None:
        super().__init__()
        self.momentum = check_unit_interval("momentum", momentum)
        self.teacher = copy.deepcopy(student)
        self.teacher.requires_grad_(False)

    @torch.no_grad()
    def update(self, student: nn.Module, momentum: float | None = None) -> None:
        """Move the teacher towards ``student``: ``t = m t + (1 - m) s``; buffers are copied.

        Args:
            student: the network the teacher was copied from (same parameter names and shapes).
            momentum: ``m`` for this step (e.g. from ``cosine_momentum``); ``None`` uses the default.

        Raises:
            ValueError: if ``student`` does not have the teacher's parameters and buffers.
        """
        m = self.momentum if momentum is None else check_unit_interval("momentum", momentum)
        teacher_params = dict(self.teacher.named_parameters())
        student_params = dict(student.named_parameters())
        teacher_buffers = dict(self.teacher.named_buffers())
        student_buffers = dict(student.named_buffers())
        if teacher_params.keys() != student_params.keys() or teacher_buffers.keys() != student_buffers.keys():
            raise ValueError(
                "the student's parameters or buffers differ from the teacher's; pass the network the "
                "EMATeacher was built from (or build a new EMATeacher after changing its structure)"
            )
        for name, t in teacher_params.items():
            s = student_params[name]
            if s.shape != t.shape:
                raise ValueError(f"parameter {name!r} is {tuple(s.shape)} in the student but {tuple(t.shape)} in the teacher")
            t.mul_(m).add_(s.detach().to(t.dtype), alpha=1.0 - m)
        for name, t in teacher_buffers.items():
            t.copy_(student_buffers[name])

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return self.teacher(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}"


def cosine_momentum(step: int, total_steps: int, base: float = 0.99, final: float = 1.0) -> float:
    """BYOL's momentum schedule (Grill et al., NeurIPS 2020, section 3.2), from ``base`` at step 0 to ``final``.

    ``m(k) = final - (final - base) * (cos(pi * k / K) + 1) / 2``; steps past ``total_steps`` stay at
    ``final``.

    Args:
        step: the current step ``k`` >= 0.
        total_steps: ``K`` >= 1, the number of training steps.
        base: momentum at step 0, in [0, 1] (BYOL: 0.996).
        final: momentum at the last step, in [base, 1].

    Raises:
        ValueError: for a negative step, ``total_steps`` < 1, or momenta outside 0 <= base <= final <= 1.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    check_positive_int("total_steps", total_steps)
    base = check_unit_interval("base", base)
    final = check_unit_interval("final", final)
    if base > final:
        raise ValueError(f"base momentum {base} exceeds final momentum {final}; the schedule only rises")
    progress = min(step, total_steps) / total_steps
    return final - (final - base) * (math.cos(math.pi * progress) + 1) / 2
