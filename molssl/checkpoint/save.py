"""Saving a checkpoint: validate the plain data and tensors, write both files into a staged copy, rename it into place."""

from __future__ import annotations

import json
import os
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from molssl.checkpoint.format import (
    CONFIG_FILE,
    CONTENT_SHA256,
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    CheckpointError,
    check_plain,
    content_sha256,
    describe_non_finite,
    non_finite,
)
from molssl.checkpoint.staging import remove_unused
from molssl.files import file_sha256, staged_directory, write_json_atomic


def plain_tensors(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """CPU copies of the tensors, each contiguous with its own storage (safetensors refuses shared storage)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    tensors = {}
    for name, tensor in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"state_dict key {name!r} is a {type(name).__name__}; keys must be strings")
        if not isinstance(tensor, Tensor):
            raise TypeError(f"state_dict[{name!r}] is a {type(tensor).__name__}, not a torch.Tensor; put non-tensor values in `extra`")
        if tensor.layout != torch.strided:
            raise TypeError(f"state_dict[{name!r}] has layout {tensor.layout}; only dense tensors can be saved (use .to_dense())")
        # tied weights and views share storage; a contiguous clone gives each tensor its own
        tensors[name] = tensor.detach().cpu().clone(memory_format=torch.contiguous_format)
    bad = non_finite(tensors)
    if bad:
        raise ValueError(f"refusing to save {describe_non_finite(bad)}; the model has diverged (the last saved checkpoint is intact)")
    return tensors


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _check_replaceable(directory: Path) -> None:
    if not directory.exists():
        return
    if not directory.is_dir():
        raise CheckpointError(f"cannot save a checkpoint to {directory}: it exists and is not a directory")
    # a checkpoint, or a damaged one holding nothing but a checkpoint's files, may be replaced
    foreign = sorted(p.name for p in directory.iterdir() if p.name not in (CONFIG_FILE, WEIGHTS_FILE))
    if foreign and not (directory / CONFIG_FILE).is_file():
        raise CheckpointError(
            f"refusing to replace {directory}: it is a non-empty directory but not a molssl checkpoint "
            f"(no {CONFIG_FILE}; holds {', '.join(foreign[:5])}); choose another directory or empty it"
        )


def save_checkpoint(
    directory: str | os.PathLike,
    config: dict[str, Any],
    state_dict: Mapping[str, Tensor],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory atomically: ``model.safetensors``, then ``config.json``, then rename.

    An existing checkpoint at ``directory`` is replaced (files other than the two above are not kept);
    a non-empty directory that is not a checkpoint is refused.

    Args:
        directory: the checkpoint directory to create or replace.
        config: component configs as plain data; record the featurization scheme under ``"scheme"``
            (``molssl.get_spec(name).to_dict()``) so that loading can refuse a mismatch.
        state_dict: tensors by name (``model.state_dict()``); shared or non-contiguous tensors are fine.
        extra: other plain data to keep with the weights (a ``TargetScaler.to_dict()``, metrics).

    Returns:
        The checkpoint directory.

    Leftovers of earlier interrupted saves of ``directory`` (``.NAME.tmp-*``, ``.NAME.old-*``) are
    removed once the new checkpoint is in place.

    Raises:
        TypeError: if ``config`` or ``extra`` is not plain JSON data, or ``state_dict`` holds non-tensors.
        ValueError: if a tensor holds NaN or infinity (the message names the tensors).
        CheckpointError: if ``directory`` exists and is not a checkpoint.
    """
    from molssl import __version__

    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of plain data, got {type(config).__name__}")
    check_plain(config, "config")
    extra = {} if extra is None else extra
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict of plain data or None, got {type(extra).__name__}")
    check_plain(extra, "extra")
    scheme = config.get("scheme")
    if scheme is not None and not (isinstance(scheme, Mapping) and "name" in scheme and "version" in scheme):
        raise TypeError("config['scheme'] must be a FeaturizationSpec.to_dict() dict, with at least 'name' and 'version'")
    tensors = plain_tensors(state_dict)

    directory = Path(os.path.abspath(directory))
    _check_replaceable(directory)
    with staged_directory(directory) as tmp:
        weights = tmp / WEIGHTS_FILE
        weights.write_bytes(safetensors_bytes(tensors, {"format": "pt", CONTENT_SHA256: content_sha256(config, extra)}))
        _fsync_file(weights)
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "molssl_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "config": config,
            "extra": extra,
            "weights": {"file": WEIGHTS_FILE, "sha256": file_sha256(weights), "size": weights.stat().st_size},
        }
        # config.json last: a directory without it is never taken for a checkpoint
        write_json_atomic(tmp / CONFIG_FILE, document)
    remove_unused(directory)
    return directory


def safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """The safetensors file of ``tensors`` and ``metadata``, byte for byte the same for the same input.

    safetensors writes its metadata from a hash map whose order changes from process to process, so two
    saves of equal tensors could differ in bytes (and in the sha256 ``config.json`` records). The header is
    rewritten here as canonical JSON (sorted keys, compact, space-padded to 8 bytes); tensor offsets are
    relative to the data section, so the data bytes are kept as they are.
    """
    from safetensors.torch import save

    raw = save(tensors, metadata=metadata)
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + raw[8 + length :]


__all__ = ["plain_tensors", "safetensors_bytes", "save_checkpoint"]
