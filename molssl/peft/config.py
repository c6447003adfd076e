"""The plain-data configuration of a parameter-efficient fine-tuning (PEFT) method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from molssl.files import json_safe
from molssl.ssl.plain_config import PlainConfig

#: the PEFT methods: bottleneck adapters, LoRA, BitFit, and graph prompt feature (GPF / GPF-plus)
PEFT_METHODS: tuple[str, ...] = ("adapter", "lora", "bitfit", "gpf", "gpf_plus")

#: the options of each method (the other fields of ``PeftConfig`` do not apply to it)
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    "adapter": ("adapter_dim",),
    "lora": ("lora_rank", "lora_alpha", "lora_targets"),
    "bitfit": (),
    "gpf": (),
    "gpf_plus": ("prompt_basis",),
}


@dataclass(frozen=True, kw_only=True)
class PeftConfig(PlainConfig):
    """Which PEFT method adapts a frozen encoder, and its options (plain data, validated on construction).

    Attributes:
        method: one of ``PEFT_METHODS``.
        adapter_dim: bottleneck width of each adapter (Houlsby et al. 2019).
        lora_rank: rank r of each low-rank update (Hu et al. 2022).
        lora_alpha: LoRA scale numerator: the update is ``(lora_alpha / lora_rank) B A``.
        lora_targets: ``fnmatch`` patterns over the names (relative to the encoder) of the
            ``nn.Linear`` layers that get a LoRA update; every pattern must match at least one. ``None``:
            the encoder's default (``PeftSites.lora_targets``: ``convs.*`` for the GNNs, the attention
            projections for the SMILES transformer).
        prompt_basis: number of basis prompts of GPF-plus (Fang et al. 2023).
    """

    method: str
    adapter_dim: int = 32
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] | None = None
    prompt_basis: int = 5

    def __post_init__(self) -> None:
        if self.method not in PEFT_METHODS:
            raise ValueError(f"unknown PEFT method {self.method!r}; valid methods: {', '.join(PEFT_METHODS)}")
        for name in ("adapter_dim", "lora_rank", "prompt_basis"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        alpha = self.lora_alpha
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
            raise ValueError(f"lora_alpha must be a positive number, got {alpha!r}")
        targets = self.lora_targets
        if targets is not None:
            if isinstance(targets, str) or not targets or any(not isinstance(t, str) or not t for t in targets):
                raise ValueError(f"lora_targets must be a non-empty list of non-empty name patterns (or None: the encoder's "
                                 f"default), got {targets!r}")  # fmt: skip
            object.__setattr__(self, "lora_targets", tuple(targets))
        object.__setattr__(self, "lora_alpha", float(alpha))

    @property
    def lora_scale(self) -> float:
        """The factor ``alpha / r`` of the low-rank update."""
        return self.lora_alpha / self.lora_rank

    def to_dict(self) -> dict[str, Any]:
        """The method and its own options only, as JSON-serializable data."""
        return {"method": self.method, **{k: json_safe(getattr(self, k)) for k in METHOD_OPTIONS[self.method]}}


__all__ = ["METHOD_OPTIONS", "PEFT_METHODS", "PeftConfig"]
