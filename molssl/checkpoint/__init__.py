"""Checkpoints as plain data: a directory with ``config.json`` and safetensors weights.

A checkpoint directory holds::

    config.json         {"format": "molssl-checkpoint", "format_version": 2, "molssl_version": ...,
                         "created": ISO-8601 UTC time, "config": component configs (with "scheme", the
                         featurization spec's ``to_dict()``), "extra": plain data (e.g. a target
                         scaler, metrics), "weights": {"file", "sha256", "size"}}
    model.safetensors   the state dict (tensors only; every tensor with its own contiguous storage); its
                        metadata holds the sha256 of ``config`` and ``extra`` (canonical JSON)

Loading reads JSON and safetensors only and never unpickles, so a checkpoint from anywhere is safe to
open. Both files are verified before anything is used: the weights against the size and sha256 that
``config.json`` records, and ``config`` + ``extra`` against the checksum in the weights' metadata (so an
edited readout or target scaler is refused, not silently used). Non-finite weights are refused on save
and on load. Format 1 (no config checksum) still loads.

Saving writes into a temporary sibling directory ``.NAME.tmp-<pid>@<host>-*`` and renames it into
place; replacing a checkpoint first moves the old one to ``.NAME.old-<pid>@<host>-*``. A kill at any
moment leaves a complete copy: the old one, the new one, or both; loading finds it
(``read_checkpoint``), and the next successful save removes the leftovers (not those of a save still
running in another process).
"""

from molssl.checkpoint.format import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    CheckpointError,
    CheckpointRecoveryWarning,
    SchemeMismatchError,
)
from molssl.checkpoint.read import Checkpoint, load_checkpoint, load_weights, read_checkpoint, reading_checkpoint
from molssl.checkpoint.save import save_checkpoint
from molssl.checkpoint.staging import remove_staged_copies, staged_copies

__all__ = [
    "CONFIG_FILE", "FORMAT", "FORMAT_VERSION", "WEIGHTS_FILE", "Checkpoint", "CheckpointError", "CheckpointRecoveryWarning",
    "SchemeMismatchError", "load_checkpoint", "load_weights", "read_checkpoint", "reading_checkpoint", "remove_staged_copies",
    "save_checkpoint", "staged_copies",
]  # fmt: skip
