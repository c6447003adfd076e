"""What the joint-embedding methods share: views from the modality's recipes, a step clock, an EMA teacher.

SimCLR, BYOL, Barlow Twins, VICReg and DINO (``molssl.methods.simclr`` ...) all augment every item into
several views with a recipe of the batch's modality (``molssl.views``), encode each view with the encoder
being pretrained, map the representations through a head and compare the views' outputs. They differ in
the head and the loss, and BYOL and DINO compare against an EMA teacher whose momentum follows a schedule
over the run. This module holds that common part once:

* ``JointEmbeddingConfig``: the ``views`` recipe (``None`` = the method's default for the batch's
  modality) and its ``view_options``; ``ExpanderConfig`` adds the wide projector of Barlow Twins and VICReg.
* ``ScheduledMethod``: counts training steps in a persistent buffer (so a resumed run continues its
  schedules exactly) and knows the run's length (``set_total_steps``, called by the loop) for the
  schedules; BGRL (``molssl.methods.bgrl``), a graph method without view recipes, uses it too.
* ``JointEmbeddingMethod``: makes and checks the views, encodes them (one encoder pass per view, so each
  view has its own BatchNorm statistics, as in BYOL and solo-learn), on ``ScheduledMethod``'s clock.
* ``MomentumTeacher``: an EMA copy of the encoder and a head, moved at the start of every training step
  from the student the previous optimizer step left (the loop has no hook after the optimizer step):
  the same sequence of teachers as updating after each step, one step later. At the first training step
  the teacher is copied from the student, so an encoder loaded after construction (``init=``) starts
  teacher and student equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.methods.base import MethodConfig, PretrainMethod
from molssl.ssl.checks import check_positive_int, check_unit_interval
from molssl.ssl.ema import EMATeacher, cosine_momentum
from molssl.ssl.heads import ProjectionHead
from molssl.views import make_views


@dataclass(frozen=True, kw_only=True)
class JointEmbeddingConfig(MethodConfig):
    """Options every joint-embedding method has.

    Attributes:
        views: view recipe of the batch's modality (``molssl.views``; e.g. ``"simclr"``, ``"byol"``,
            ``"multicrop"`` for images); ``None`` = the method's default for the modality.
        view_options: keyword options of the recipe (e.g. crop scales), plain data; ``None`` = the
            method's defaults for its default recipe, else the recipe's own.
    """

    views: str | None = None
    view_options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.views is not None and (not isinstance(self.views, str) or not self.views):
            raise ValueError(f"views must be a view recipe name or None, got {self.views!r}")
        options = self.view_options
        if options is not None and (not isinstance(options, dict) or not all(isinstance(k, str) for k in options)):
            raise ValueError(f"view_options must be a dict of recipe options or None, got {options!r}")


@dataclass(frozen=True, kw_only=True)
class ExpanderConfig(JointEmbeddingConfig):
    """Options of the wide projector ("expander") of Barlow Twins and VICReg: both papers use 8192-8192-8192.

    Attributes:
        projection_dim: output size of the projector (papers: 8192).
        projection_hidden_dim: hidden size of the projector (papers: 8192).
        projection_layers: linear layers of the projector, BatchNorm and ReLU after all but the last (papers: 3).
    """

    projection_dim: int = 8192
    projection_hidden_dim: int = 8192
    projection_layers: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("projection_dim", "projection_hidden_dim", "projection_layers"):
            check_positive_int(name, getattr(self, name))

    def build_projector(self, in_dim: int) -> ProjectionHead:
        """The projector these options describe, reading ``in_dim``-d representations."""
        return ProjectionHead(in_dim, self.projection_dim, hidden_dim=self.projection_hidden_dim,
                              num_layers=self.projection_layers)  # fmt: skip


class ScheduledMethod(PretrainMethod):
    """Base of methods with schedules over the run (an EMA teacher's momentum): a step clock.

    Counts training steps in a persistent buffer (so a resumed run continues its schedules exactly) and
    knows the run's length (``set_total_steps``, called by the loop). A training ``forward`` calls
    ``advance`` once; ``steps_taken`` and ``run_length`` feed the schedules.
    """

    def __init__(self, encoder_config: Any, config: MethodConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        # training steps taken, persistent so a resumed run continues its schedules where it stopped
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._steps: int | None = None  # host copy, read once (a device sync) and cached
        self.register_load_state_dict_post_hook(lambda module, keys: setattr(module, "_steps", None))
        self.total_steps: int | None = None

    def set_total_steps(self, total_steps: int) -> None:
        """Tell the method how many optimizer steps the run takes (its schedules run over them)."""
        self.total_steps = check_positive_int("total_steps", total_steps)

    def advance(self) -> int:
        """In a training forward: the index of this step (0 for the first), counting it as taken."""
        step = self.steps_taken()
        self.steps_done.fill_(step + 1)
        self._steps = step + 1
        return step

    def steps_taken(self) -> int:
        """Training steps taken so far (restored with the state dict)."""
        if self._steps is None:
            self._steps = int(self.steps_done)
        return self._steps

    def run_length(self, what: str) -> int:
        """The run's total steps, for a schedule named ``what``.

        Raises:
            RuntimeError: the run's length is unknown (``set_total_steps`` was not called).
        """
        if self.total_steps is None:
            raise RuntimeError(
                f"{self.name}'s {what} follows a schedule over the run: call set_total_steps(total) before "
                "training (molssl.pretrain does)"
            )
        return self.total_steps


class JointEmbeddingMethod(ScheduledMethod):
    """Base of methods that compare views of each item made by the modality's view recipe.

    Subclasses set ``default_views`` (recipe per modality) and ``num_views`` (how many views the loss
    takes; DINO: at least that many), and implement ``forward`` with ``make_views``, ``represent``
    and, for schedules, ``advance`` / ``steps_taken`` / ``run_length`` (``ScheduledMethod``).
    """

    modality: ClassVar[tuple[str, ...]] = ("image", "audio")
    #: ResNet-18 with the small-image stem (3x3 convolution, no max pool), as SimCLR's and solo-learn's
    #: CIFAR runs use for images of 32 pixels or less; the image channels come from the data
    default_encoder: ClassVar[Mapping[str, Any]] = {"kind": "resnet", "small_images": True}
    #: the view recipe used when the config's ``views`` is None, per modality
    default_views: ClassVar[Mapping[str, str]] = {"image": "simclr", "audio": "byola"}
    #: the recipe options used when the config's ``view_options`` is None, per modality (default: the recipe's own)
    default_view_options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: views the loss takes (a minimum when ``exact_views`` is False)
    num_views: ClassVar[int] = 2
    exact_views: ClassVar[bool] = True

    def recipe(self, modality: str) -> str:
        """The view recipe used for batches of ``modality``."""
        if self.config.views is not None:
            return self.config.views
        try:
            return self.default_views[modality]
        except KeyError:
            raise ValueError(
                f"{self.name} has no default view recipe for {modality!r} data (defaults: "
                f"{', '.join(f'{m}: {r}' for m, r in self.default_views.items())}); pass views=<recipe>"
            ) from None

    def make_views(self, batch: Any, generator: torch.Generator) -> list[Tensor]:
        """The views of every item of ``batch`` (row i of each is item i).

        Shapes:
            -> ``num_views`` (or more) tensors, each [B, ...] as the encoder takes it
        """
        modality = getattr(batch, "modality", None)
        recipe = self.recipe(modality)
        options = self.config.view_options
        if options is None and self.config.views is None:
            options = dict(self.default_view_options.get(modality, {}))
        views = make_views(batch, generator, recipe, options)
        count = len(views)
        wrong = count != self.num_views if self.exact_views else count < self.num_views
        if wrong:
            wanted = f"{'' if self.exact_views else 'at least '}{self.num_views}"
            raise ValueError(f"{self.name} takes {wanted} views per item, but the view recipe {recipe!r} made {count}; "
                             "choose a recipe that makes that many (views=...)")  # fmt: skip
        return views

    def represent(self, view: Tensor) -> Tensor:
        """The encoder's pooled representation of every item of one view.

        Shapes:
            view: [B, ...] -> [B, D]
        """
        return self.encoder(view)

    def project(self, views: list[Tensor], head: nn.Module) -> tuple[list[Tensor], list[Tensor]]:
        """Encode every view (one pass each) and map it through ``head``: ``(representations, outputs)``.

        The outputs are float32 (the losses' precision under autocast).

        Shapes:
            views: V tensors [B, ...] -> V representations [B, D], V outputs [B, head output]
        """
        represented = [self.represent(view) for view in views]
        return represented, [head(h).float() for h in represented]


class _Branch(nn.Module):
    """An encoder followed by a head, as one module (what an EMA teacher copies)."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.encoder(x))


class MomentumTeacher(nn.Module):
    """An EMA teacher of an encoder and its head whose momentum rises on BYOL's cosine schedule.

    ``t <- m t + (1 - m) s`` with ``m`` from ``base`` to ``final`` over the run (``cosine_momentum``,
    Grill et al., NeurIPS 2020); see the module docstring for when it moves.

    Args:
        encoder, head: the student's networks (copied; not stored).
        base: momentum at the start, in [0, 1] (BYOL, DINO: 0.996).
        final: momentum at the end, in [base, 1] (BYOL, DINO: 1).

    Shapes:
        forward: x [B, ...] -> head(encoder(x)) of the teacher, without gradients
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, base: float, final: float) -> None:
        super().__init__()
        self.base = check_unit_interval("base momentum", base)
        self.final = check_unit_interval("final momentum", final)
        if base > final:
            raise ValueError(f"base momentum {base} exceeds final momentum {final}; the schedule only rises")
        self.ema = EMATeacher(_Branch(encoder, head), base)

    def momentum(self, step: int, total_steps: int) -> float:
        """The momentum of the update made at training step ``step`` (0 copies the student)."""
        return 0.0 if step == 0 else cosine_momentum(step - 1, total_steps, self.base, self.final)

    @torch.no_grad()
    def update(self, encoder: nn.Module, head: nn.Module, step: int, total_steps: int) -> float:
        """Move the teacher towards the student at training step ``step``; returns the momentum used."""
        momentum = self.momentum(step, total_steps)
        self.ema.update(_Branch(encoder, head), momentum)
        return momentum

    def forward(self, x: Tensor) -> Tensor:
        return self.ema(x)


@torch.no_grad()
def retrieval_top1(z1: Tensor, z2: Tensor) -> Tensor:
    """Fraction of rows of ``z1`` whose most cosine-similar row of ``z2`` is their own positive (detached).

    Shapes:
        z1, z2: [B, D] -> []
    """
    similarity = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t()  # [B, B]
    rows = torch.arange(similarity.size(0), device=similarity.device)
    return (similarity.argmax(dim=1) == rows).float().mean()


__all__ = ["ExpanderConfig", "JointEmbeddingConfig", "JointEmbeddingMethod", "MomentumTeacher", "ScheduledMethod", "retrieval_top1"]
