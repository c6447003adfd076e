"""The fine-tuning mode options of ``molssl finetune`` (full, probes, PEFT methods, LP-FT): arguments and their reading."""

from __future__ import annotations

import argparse
from typing import Any

from molssl.peft import METHOD_OPTIONS, PEFT_METHODS, PeftConfig
from molssl.tasks.finetune_config import MODES

_DEFAULTS = PeftConfig(method="adapter")


def add_mode_arguments(p: argparse.ArgumentParser) -> None:
    """``--mode`` and the options of each mode, with their defaults in ``--help``."""
    p.add_argument("--mode", choices=MODES, default="full",
                   help="full; linear_probe (frozen encoder); last_k; parameter-efficient: adapter (bottleneck adapters after "
                   "each layer), lora (low-rank updates of the convs' linear maps or the attention projections), bitfit (biases "
                   "and norms), gpf / gpf_plus (prompt on the atom or token embeddings); lp_ft (linear probe, then full fine-tuning) (default: %(default)s)")  # fmt: skip
    p.add_argument("--last-k", type=int, default=1, help="last_k: trainable encoder layers (default: %(default)s)")
    group = p.add_argument_group("parameter-efficient and LP-FT options (each applies to its mode only)")
    group.add_argument("--adapter-dim", type=int, default=_DEFAULTS.adapter_dim, help="adapter: bottleneck width (default: %(default)s)")
    group.add_argument("--lora-rank", type=int, default=_DEFAULTS.lora_rank, help="lora: rank r (default: %(default)s)")
    group.add_argument("--lora-alpha", type=float, default=_DEFAULTS.lora_alpha,
                       help="lora: scale numerator, the update is alpha/r B A (default: %(default)s)")
    group.add_argument("--lora-targets", nargs="+", default=None, metavar="PATTERN",
                       help="lora: name patterns of the encoder's linear layers to adapt (default: the encoder's: convs.* for "
                       "the GNNs, blocks.*.qkv blocks.*.proj for the SMILES transformer)")  # fmt: skip
    group.add_argument("--prompt-basis", type=int, default=_DEFAULTS.prompt_basis,
                       help="gpf_plus: number of basis prompts (default: %(default)s)")
    group.add_argument("--lp-epochs", type=int, default=None, help="lp_ft: linear-probing epochs (default: half of --epochs)")
    group.add_argument("--checkpoint", choices=("auto", "full", "delta"), default="auto",
                       help="what --out/model holds: the full model, or only the delta from the --pretrained encoder (PEFT "
                       "modules, changed biases, head) with the base's name and sha256; auto = delta for the PEFT modes and "
                       "linear_probe started from --pretrained, full otherwise (default: %(default)s)")  # fmt: skip


def mode_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``FinetuneConfig`` fields of the chosen mode: ``mode``, ``last_k``, its ``peft`` options, ``lp_epochs``."""
    peft = {name: getattr(args, name) for name in METHOD_OPTIONS.get(args.mode, ())}
    if "lora_targets" in peft:  # None: the encoder's default, filled in by the model config
        targets = peft.pop("lora_targets")
        if targets is not None:
            peft["lora_targets"] = list(targets)
    return {"mode": args.mode, "last_k": args.last_k, "peft": peft, "lp_epochs": args.lp_epochs if args.mode == "lp_ft" else None}


def save_as_delta(args: argparse.Namespace) -> bool:
    """Whether ``--checkpoint`` asks for a delta checkpoint.

    Raises:
        ValueError: ``--checkpoint delta`` without ``--pretrained``.
    """
    if args.checkpoint == "delta" and args.pretrained is None:
        raise ValueError("--checkpoint delta needs --pretrained: a delta is the difference from a pretrained encoder")
    if args.checkpoint == "auto":
        return args.pretrained is not None and (args.mode in PEFT_METHODS or args.mode == "linear_probe")
    return args.checkpoint == "delta"


def format_trainable(metrics: dict[str, Any]) -> str:
    """The summary line of the trainable-parameter count."""
    trained, total = metrics.get("trainable_parameters"), metrics.get("total_parameters")
    if trained is None or not total:
        return "trainable parameters: unknown"
    return f"trainable parameters: {trained:,} of {total:,} ({100 * trained / total:.2f}%)"


__all__ = ["add_mode_arguments", "format_trainable", "mode_options", "save_as_delta"]
