"""Delta checkpoints: only what fine-tuning changed, tied to the base weights it was trained from.

A PEFT run trains a few adapter/LoRA/prompt/bias tensors and a head on a frozen base encoder. Its
checkpoint stores the state-dict entries that are not in the base or differ from it (``state_delta``)
plus the base's name and ``state_sha256``; loading rebuilds the full state from the base and the
delta (``apply_delta``) after ``check_base`` has verified that the base is the same weights.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import torch
from torch import Tensor

from torch import nn

from molssl.checkpoint import CheckpointError, load_weights
from molssl.peft.attach import PEFT_ATTRIBUTE


class BaseMismatchError(CheckpointError):
    """A delta checkpoint was given other base weights than the ones it was trained from."""


def state_sha256(state: Mapping[str, Tensor]) -> str:
    """sha256 of a state dict's content: every tensor's name, dtype, shape and bytes, in name order.

    It identifies weights independently of the file they were read from (checkpoint metadata,
    creation time), so a re-converted zoo encoder with the same weights has the same digest.
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def state_delta(state: Mapping[str, Tensor], base: Mapping[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
    """The entries of ``state`` that ``base`` (keys without ``prefix``) lacks or holds another value for.

    ``apply_delta(base, state_delta(state, base, prefix), prefix)`` equals ``state`` exactly on every
    key of ``state`` that starts with ``prefix`` or is in the delta.

    Shapes:
        state, base: name -> tensor of any shape
    """
    delta = {}
    for name, tensor in state.items():
        base_name = name[len(prefix):] if name.startswith(prefix) else None
        reference = base.get(base_name) if base_name is not None else None
        if reference is None or reference.shape != tensor.shape or reference.dtype != tensor.dtype or not torch.equal(reference.cpu(), tensor.detach().cpu()):
            delta[name] = tensor
    return delta


def apply_delta(base: Mapping[str, Tensor], delta: Mapping[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
    """The full state: ``base``'s entries (keys given ``prefix``) overridden and extended by ``delta``."""
    return {**{prefix + name: tensor for name, tensor in base.items()}, **delta}


def load_base(encoder: nn.Module, state: Mapping[str, Tensor], source: str) -> None:
    """Load base (pretrained) weights into ``encoder``, whose attached PEFT modules keep their values.

    Every other tensor must fit exactly (``molssl.checkpoint.load_weights``).

    Raises:
        CheckpointError: missing, unexpected or reshaped tensors, named.
    """
    own = {k: v for k, v in encoder.state_dict().items() if k.startswith(f"{PEFT_ATTRIBUTE}.")}
    load_weights(encoder, {**state, **own}, source)


def base_record(name: str, state: Mapping[str, Tensor]) -> dict[str, Any]:
    """What a delta checkpoint records about its base: ``{"name", "sha256", "num_tensors"}``."""
    return {"name": name, "sha256": state_sha256(state), "num_tensors": len(state)}


def check_base(recorded: Mapping[str, Any], state: Mapping[str, Tensor], given: str, checkpoint: str) -> None:
    """Refuse base weights other than the ones a delta checkpoint recorded.

    Args:
        recorded: the checkpoint's ``base_record``.
        state: the base weights offered.
        given: where they came from (for the message).
        checkpoint: the delta checkpoint (for the message).

    Raises:
        BaseMismatchError: the digests differ; the message names both bases.
    """
    found = state_sha256(state)
    if found != recorded.get("sha256"):
        raise BaseMismatchError(
            f"{checkpoint}: this delta checkpoint was trained on base encoder {recorded.get('name')!r} "
            f"(weights sha256 {recorded.get('sha256')}), but {given!r} has other weights (sha256 {found}); "
            f"load it with the base it was trained from (base={recorded.get('name')!r})"
        )


__all__ = ["BaseMismatchError", "apply_delta", "base_record", "check_base", "load_base", "state_delta", "state_sha256"]
