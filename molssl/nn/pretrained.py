"""Save and load a (pretrained) encoder as a plain-data checkpoint that fine-tuning loads.

The checkpoint is a ``molssl.checkpoint`` directory whose ``config.json`` holds
``{"kind": "encoder", "scheme": FeaturizationSpec.to_dict(), "encoder": EncoderConfig.to_dict()}`` and whose weights are the
encoder's ``state_dict``. Pretraining methods write it; ``PropertyPredictor.fit(pretrained=...)``
reads it and refuses a checkpoint built for another featurization scheme. Wherever a checkpoint is
asked for, the output folder of the command that wrote it works too (``checkpoint_in``): a pretraining
run folder stands for its ``encoder/``, a ``molssl finetune`` folder for its ``model/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from molssl.checkpoint import CheckpointError, load_weights, read_checkpoint, reading_checkpoint, save_checkpoint
from molssl.chem.schemes import FeaturizationSpec, get_spec
from molssl.nn.encoder import EncoderConfig, GNNEncoder

ENCODER_KIND = "encoder"

#: the sub-folders of a command's output folder that hold its checkpoint: pretraining's encoder/, fine-tuning's model/
RUN_CHECKPOINTS = ("encoder", "model")


def checkpoint_in(path: str | os.PathLike) -> Path:
    """The checkpoint ``path`` names: itself, or the ``encoder/`` or ``model/`` of a run folder holding one.

    Raises:
        CheckpointError: ``path`` is a pretraining run folder whose run has not finished (no ``encoder/``
            yet), saying how to finish it.
    """
    path = Path(path)
    for sub in RUN_CHECKPOINTS:
        if (path / sub / "config.json").is_file():
            return path / sub
    try:
        run_format = json.loads((path / "config.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        run_format = None
    if run_format == "molssl-pretrain-run":
        raise CheckpointError(f"{path} is a pretraining run folder without encoder/: the run has not finished; resume it "
                              f"(molssl pretrain --resume --out {path} with its options) or pass a finished run")  # fmt: skip
    return path


def save_encoder(encoder: GNNEncoder, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
    """Write ``encoder`` (config + weights) to ``directory``; ``extra`` is plain data (e.g. the method)."""
    config = {"kind": ENCODER_KIND, "scheme": encoder.config.scheme.to_dict(), "encoder": encoder.config.to_dict()}
    save_checkpoint(directory, config, encoder.state_dict(), extra=extra)


def load_encoder_state(
    directory: str | os.PathLike, expected_scheme: FeaturizationSpec | str | Mapping[str, Any] | None = None
) -> tuple[EncoderConfig, dict]:
    """The encoder config and weights stored in ``directory``.

    Accepts an encoder checkpoint or a property-predictor checkpoint (its encoder part), or the run folder
    holding one (``checkpoint_in``). ``expected_scheme`` is a ``FeaturizationSpec`` (or a scheme name,
    or a recorded spec dict).

    Raises:
        CheckpointError: unreadable, corrupt, or holding no encoder.
        SchemeMismatchError: the checkpoint was built for another scheme than ``expected_scheme``.
    """
    expected = None if expected_scheme is None else get_spec(expected_scheme).to_dict()
    found = read_checkpoint(checkpoint_in(directory), expected_scheme=expected)
    config, state = found.config, found.state_dict
    kind = config.get("kind")
    with reading_checkpoint(found.path, f"the {kind} checkpoint's config"):
        if kind == ENCODER_KIND:
            return EncoderConfig.from_dict(config["encoder"]), state
        if kind == "property_predictor":
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            return EncoderConfig.from_dict(config["predictor"]["encoder"]), enc
    raise CheckpointError(f"{found.path}: checkpoint kind {kind!r} holds no encoder (expected 'encoder' or 'property_predictor')")


def load_encoder(
    directory: str | os.PathLike, expected_scheme: FeaturizationSpec | str | Mapping[str, Any] | None = None
) -> GNNEncoder:
    """Rebuild the encoder stored in ``directory`` with its weights.

    Raises:
        CheckpointError: as ``load_encoder_state``, or weights that do not fit the encoder its config describes.
    """
    config, state = load_encoder_state(directory, expected_scheme)
    encoder = GNNEncoder(config)
    load_weights(encoder, state, directory)
    return encoder
