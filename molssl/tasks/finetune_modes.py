"""What trains when, for each fine-tuning mode: option checks, LP-FT's phases, optimizer groups, counts.

``FinetuneConfig.mode`` selects one of: ``full``, ``linear_probe``, ``last_k`` (``set_trainable``), a
PEFT method of ``molssl.peft`` (the model carries its modules: ``PredictorConfig.peft``), or ``lp_ft``
(Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution",
ICLR 2022): train the head on the frozen encoder first (linear probing), then fine-tune everything
from that head, so the randomly initialized head does not distort the pretrained features early on.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from molssl.peft import METHOD_OPTIONS, PEFT_ATTRIBUTE, PEFT_METHODS, PeftConfig


def check_mode_options(mode: str, peft: Mapping[str, Any], lp_epochs: int | None, epochs: int) -> int | None:
    """Validate the mode-specific options of a fine-tuning config; returns ``lp_epochs`` resolved.

    Raises:
        ValueError: PEFT options given for a mode they do not apply to (naming the mode's options),
            an invalid option value, or ``lp_epochs`` outside ``1 .. epochs - 1`` or given without ``lp_ft``.
    """
    if not isinstance(peft, Mapping):
        raise ValueError(f"peft must be a dict of PEFT options, got {type(peft).__name__}")
    if mode in PEFT_METHODS:
        own = METHOD_OPTIONS[mode]
        foreign = sorted(k for k in peft if k not in own)
        if foreign:
            raise ValueError(f"peft options {foreign} do not apply to mode {mode!r}; its options: {', '.join(own) or 'none'}")
        PeftConfig(method=mode, **peft)
    elif peft:
        raise ValueError(f"peft options {sorted(peft)} apply only to the PEFT modes ({', '.join(PEFT_METHODS)}), not to {mode!r}")
    if mode != "lp_ft":
        if lp_epochs is not None:
            raise ValueError(f"lp_epochs applies only to mode 'lp_ft', not to {mode!r}")
        return None
    if epochs < 2:
        raise ValueError(f"lp_ft needs at least 2 epochs (linear probing, then fine-tuning), got {epochs}")
    resolved = epochs // 2 if lp_epochs is None else lp_epochs
    if isinstance(resolved, bool) or not isinstance(resolved, int) or not 1 <= resolved < epochs:
        raise ValueError(f"lp_epochs must be an int in 1..{epochs - 1} (epochs - 1), got {lp_epochs!r}")
    return resolved


def peft_config(mode: str, peft: Mapping[str, Any]) -> PeftConfig | None:
    """The ``PeftConfig`` a mode needs attached to the model (None for the non-PEFT modes)."""
    return PeftConfig(method=mode, **peft) if mode in PEFT_METHODS else None


def training_phases(mode: str, epochs: int, lp_epochs: int | None) -> dict[int, str]:
    """First epoch (1-based) of each phase -> the ``set_trainable`` mode from that epoch on.

    ``lp_ft``: ``{1: "linear_probe", lp_epochs + 1: "full"}``; every other mode is one phase.
    """
    if mode == "lp_ft":
        if lp_epochs is None or not 1 <= lp_epochs < epochs:
            raise ValueError(f"lp_ft needs lp_epochs in 1..{epochs - 1}, got {lp_epochs!r}")
        return {1: "linear_probe", lp_epochs + 1: "full"}
    return {1: mode}


def make_optimizer(model: nn.Module, lr: float, encoder_lr: float | None, weight_decay: float) -> torch.optim.Adam:
    """Adam over the trainable parameters: the pretrained encoder weights at ``encoder_lr`` (None = ``lr``),
    everything new (head, readout, the encoder's PEFT modules) at ``lr``.
    """
    pretrained, new = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            is_new = not name.startswith("encoder.") or name.startswith(f"encoder.{PEFT_ATTRIBUTE}.")
            (new if is_new else pretrained).append(p)
    groups = [{"params": new, "lr": lr}]
    if pretrained:
        groups.append({"params": pretrained, "lr": lr if encoder_lr is None else encoder_lr})
    return torch.optim.Adam(groups, weight_decay=weight_decay)


__all__ = ["check_mode_options", "make_optimizer", "peft_config", "training_phases"]
