"""What a checkpoint directory holds: file names, format version, errors, and the plain-data rule of its config."""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor

from molssl.files import json_sha256

FORMAT = "molssl-checkpoint"
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: key of the weights' safetensors metadata holding the sha256 of config + extra (format 2 on)
CONTENT_SHA256 = "molssl_content_sha256"


class CheckpointError(RuntimeError):
    """A checkpoint directory is missing, incomplete, corrupt, or from an unsupported format version."""


class SchemeMismatchError(CheckpointError):
    """A checkpoint was trained on a featurization scheme other than the one requested."""


class CheckpointRecoveryWarning(UserWarning):
    """A checkpoint was loaded from the copy an interrupted save left beside it."""


def check_plain(value: Any, where: str) -> None:
    """Raise ``TypeError`` naming the first value under ``where`` that strict JSON cannot hold."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value}; JSON has no NaN or infinity, store None or a string instead")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r} of type {type(key).__name__}; JSON keys must be strings")
            check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}; checkpoint configs hold plain data only "
        "(dict, list, str, int, float, bool, None): convert it (e.g. .item(), .tolist(), a dataclass's asdict)"
    )


def content_sha256(config: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    """sha256 of ``config`` and ``extra`` as canonical JSON: what the weights' metadata vouches for."""
    return json_sha256({"config": config, "extra": extra})


def non_finite(tensors: Mapping[str, Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or infinity, sorted."""
    return sorted(name for name, t in tensors.items() if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()))


def describe_non_finite(names: list[str]) -> str:
    shown = ", ".join(names[:10]) + (f", ... ({len(names) - 10} more)" if len(names) > 10 else "")
    return f"non-finite values (NaN or infinity) in {len(names)} tensor(s): {shown}"
