"""DINO: self-distillation from an EMA teacher with centering and sharpening, on multi-crop views (Caron et al., ICCV 2021).

Caron et al., "Emerging Properties in Self-Supervised Vision Transformers" (DINO, ICCV 2021). The view
recipe (images: ``"multicrop"``) makes ``global_views`` large crops followed by any number of small
local crops. The student (the encoder and a ``DINOHead``) sees every crop; the teacher, an EMA of the
student (``MomentumTeacher``, momentum 0.9995 -> 1 on a cosine schedule), sees the global crops only.
The teacher's outputs are centered by a running mean (momentum 0.9) and sharpened by a low temperature;
the student's distribution of every other crop is trained towards them by cross-entropy
(``molssl.ssl.DINOLoss``). The teacher temperature can warm up linearly (e.g. from 0.04 to the paper's
0.07) over the first part of the run, and the head's last layer is frozen at the very start (DINO's
``freeze_last_layer``).

The head (``DINOHead``): three linear layers (``D -> 2048 -> 2048 -> 256``, GELU, no BatchNorm), L2
normalization of the 256-d bottleneck, then a weight-normalized linear layer to K = 65,536 outputs whose
weight norm is fixed at 1 (``norm_last_layer``).

Defaults and deviations:

* Teacher temperature 0.04 throughout and teacher momentum 0.9995 at the start: the defaults and the
  advice of DINO's code (``teacher_temp`` 0.04, "anything above 0.07 is unstable"; ``momentum_teacher``
  "0.9995 with batch size of 256"), not the paper's best ImageNet run (0.04 -> 0.07 over 30 epochs,
  momentum 0.996 at batch 1024). At the batches of a single device both paper values collapse to
  uniform targets: on the embedded digits (ResNet width 8, batches of 32, 100 steps, 2 + 2 crops) the
  teacher's target entropy climbs to 4.14 of ln K = 4.16 and kNN@20 stays at the random encoder's 0.36,
  while 0.04 with 0.9995 keeps it at 3.5 and reaches 0.40 (section 5.3's diagnostic; the measurement is
  in the commit that set these defaults). Pass ``teacher_temperature=0.07`` (with
  ``teacher_temperature_warmup``) and ``base_momentum=0.996`` for the paper's large-batch runs.

* Schedules are given as fractions of the run, since a method knows the run's length in steps, not
  its epochs: the temperature warms up over ``teacher_temperature_warmup = 0.1`` of the run (the
  paper's 30 of 300 epochs) and the last layer is frozen for ``freeze_last_layer = 1/300`` (its first
  of 300 epochs). They need the run's length (``set_total_steps``, set by the loop).
* The teacher moves at the start of each training step rather than after it
  (``molssl.methods.joint_embedding``); crops are encoded one view per pass.
* Weight-decay schedule (0.04 -> 0.4), gradient clipping (3.0) and learning-rate warm-up are the loop's
  options (``weight_decay``, ``grad_clip``, ``warmup_steps``), constant weight decay here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import JointEmbeddingConfig, JointEmbeddingMethod, MomentumTeacher
from molssl.ssl.checks import check_fraction, check_positive_float, check_positive_int, check_unit_interval
from molssl.ssl.losses import DINOLoss, dino_targets


class DINOHead(nn.Module):
    """DINO's projection head: MLP to a bottleneck, L2 normalization, weight-normalized linear layer.

    ``freeze_last_layer(True)`` makes the last layer's weights a constant for the next forwards (no
    gradient reaches them), as DINO does during its first epoch.

    Args:
        in_dim: the encoder's output size.
        out_dim: K, the number of output dimensions (prototypes).
        hidden_dim: width of the hidden layers.
        bottleneck_dim: size of the normalized bottleneck.
        num_layers: linear layers before the bottleneck's normalization (>= 1).
        norm_last_layer: fix the norm of every row of the last layer's weight at 1 (else learn it).

    Shapes:
        x: [B, in_dim] -> [B, out_dim]
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 2048, bottleneck_dim: int = 256, num_layers: int = 3,
                 norm_last_layer: bool = True) -> None:  # fmt: skip
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [bottleneck_dim]
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1:
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        for module in self.mlp:
            if isinstance(module, nn.Linear):  # DINO's initialization
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        # weight normalization written out: w_k = g_k v_k / |v_k| (DINO: nn.utils.weight_norm with g = 1)
        self.last_direction = nn.Parameter(torch.empty(out_dim, bottleneck_dim))
        nn.init.trunc_normal_(self.last_direction, std=0.02)
        self.last_gain = nn.Parameter(torch.ones(out_dim, 1), requires_grad=not norm_last_layer)
        self.frozen = False

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(self.mlp(x), dim=-1)  # [B, bottleneck]
        direction, gain = self.last_direction, self.last_gain
        if self.frozen:
            direction, gain = direction.detach(), gain.detach()
        weight = gain * F.normalize(direction, dim=1)  # [K, bottleneck]
        return F.linear(x, weight)


@dataclass(frozen=True, kw_only=True)
class DINOConfig(JointEmbeddingConfig):
    """Options of DINO.

    Attributes:
        global_views: how many of the recipe's views (the first ones) are global crops the teacher sees (paper: 2).
        out_dim: K, output size of the head (paper: 65536).
        hidden_dim: hidden width of the head (paper: 2048).
        bottleneck_dim: bottleneck of the head (paper: 256).
        norm_last_layer: fix the last layer's weight norm (paper: True for ViT-S).
        student_temperature: tau_s (paper: 0.1).
        warmup_teacher_temperature: tau_t at the start (paper: 0.04).
        teacher_temperature: tau_t after the warm-up (0.04, its code's default; paper: 0.07 in its best runs).
        teacher_temperature_warmup: fraction of the run over which tau_t rises linearly (paper: 30 of 300 epochs).
        center_momentum: momentum of the teacher's center (paper: 0.9).
        base_momentum: teacher EMA momentum at the start (0.9995, its code's advice for batches of 256; paper:
            0.996 at batch 1024). Raise it for smaller batches.
        final_momentum: teacher EMA momentum at the end (paper: 1).
        freeze_last_layer: fraction of the run during which the head's last layer gets no gradient
            (paper: its first epoch of 300).
    """

    global_views: int = 2
    out_dim: int = 65536
    hidden_dim: int = 2048
    bottleneck_dim: int = 256
    norm_last_layer: bool = True
    student_temperature: float = 0.1
    warmup_teacher_temperature: float = 0.04
    teacher_temperature: float = 0.04
    teacher_temperature_warmup: float = 0.1
    center_momentum: float = 0.9
    base_momentum: float = 0.9995
    final_momentum: float = 1.0
    freeze_last_layer: float = 1 / 300

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("global_views", "out_dim", "hidden_dim", "bottleneck_dim"):
            check_positive_int(name, getattr(self, name))
        if not isinstance(self.norm_last_layer, bool):
            raise ValueError(f"norm_last_layer must be a bool, got {self.norm_last_layer!r}")
        for name in ("student_temperature", "warmup_teacher_temperature", "teacher_temperature"):
            check_positive_float(name, getattr(self, name))
        for name in ("teacher_temperature_warmup", "freeze_last_layer"):
            check_fraction(name, getattr(self, name), low_open=False)
        for name in ("center_momentum", "base_momentum", "final_momentum"):
            check_unit_interval(name, getattr(self, name))
        if self.base_momentum > self.final_momentum:
            raise ValueError(f"base_momentum {self.base_momentum} exceeds final_momentum {self.final_momentum}")


class DINO(JointEmbeddingMethod):
    """Cross-entropy from the centered, sharpened teacher on global crops to the student on every other crop.

    Logs the teacher's temperature and momentum, and the paper's collapse diagnostics (section 5.3): the
    entropy of the teacher's targets (ln K when they are uniform) and ``kl``, the loss minus that entropy,
    the mean KL divergence of the student's distributions from them (0 when they match, as in collapse).
    The collapse monitors see the student encoder's representations of the first two crops.

    Shapes:
        batch: a modality's batch of B items -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "dino"
    config_class = DINOConfig
    default_views = {"image": "multicrop", "audio": "byola"}
    exact_views = False
    #: the head's last layer gets no gradient while frozen (tells DDP to look for unused parameters)
    may_skip_parameters = True
    collapse_advice = (
        "lower teacher_temperature (sharper targets), raise base_momentum (a slower teacher, as small batches "
        "need), raise center_momentum, use more crops or stronger "
        "augmentations (views, view_options), or lower the learning rate (lr)"
    )

    def __init__(self, encoder_config: Any, config: DINOConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        c = self.config
        self.head = DINOHead(self.encoder.out_dim, c.out_dim, c.hidden_dim, c.bottleneck_dim,
                             norm_last_layer=c.norm_last_layer)  # fmt: skip
        self.teacher = MomentumTeacher(self.encoder, self.head, c.base_momentum, c.final_momentum)
        self.loss = DINOLoss(c.out_dim, c.student_temperature, c.center_momentum)

    def teacher_temperature(self, step: int, total: int) -> float:
        """tau_t at training step ``step`` of ``total``: linear warm-up, then constant."""
        c = self.config
        warmup = c.teacher_temperature_warmup * total
        if step >= warmup:
            return c.teacher_temperature
        return c.warmup_teacher_temperature + (c.teacher_temperature - c.warmup_teacher_temperature) * step / warmup

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        c = self.config
        momentum, frozen = None, False
        if self.training:
            total, step = self.run_length("teacher temperature"), self.advance()
            momentum = self.teacher.update(self.encoder, self.head, step, total)
            frozen = step < c.freeze_last_layer * total
            temperature = self.teacher_temperature(step, total)
        elif self.total_steps is None:  # evaluating a model outside a run: the temperature after warm-up
            temperature = c.teacher_temperature
        else:
            temperature = self.teacher_temperature(self.steps_taken(), self.total_steps)
        self.head.frozen = frozen
        views = self.make_views(batch, generator)
        if len(views) < c.global_views:
            raise ValueError(f"dino takes global_views={c.global_views} global crops, but the view recipe made only "
                             f"{len(views)} views; lower global_views or choose another recipe (views=...)")  # fmt: skip
        represented, student = self.project(views, self.head)
        teacher = torch.stack([self.teacher(view).float() for view in views[: c.global_views]])  # [G, B, K]
        with torch.no_grad():  # the paper's collapse diagnostics (section 5.3): targets' entropy, student's KL to them
            targets = dino_targets(teacher, self.loss.center, temperature)  # before the loss moves the center
            entropy = -(targets * targets.clamp(min=1e-30).log()).sum(dim=-1).mean()
        loss = self.loss(torch.stack(student), teacher, temperature)  # student: [V, B, K]
        metrics = {"teacher_temperature": loss.new_tensor(temperature).detach(), "teacher_entropy": entropy,
                   "kl": loss.detach() - entropy}  # fmt: skip
        if momentum is not None:
            metrics["momentum"] = loss.new_tensor(momentum).detach()
        return MethodOutput(loss, metrics, embeddings=represented[0].detach(), embeddings2=represented[1].detach())


__all__ = ["DINO", "DINOConfig", "DINOHead"]
