"""Save and load a (pretrained) encoder as a plain-data checkpoint that fine-tuning loads.

The checkpoint is a ``molssl.checkpoint`` directory whose ``config.json`` holds
``{"kind": "encoder", "scheme": ..., "encoder": EncoderConfig.to_dict()}`` and whose weights are the
encoder's ``state_dict``. Pretraining methods write it; ``PropertyPredictor.fit(pretrained=...)``
reads it and refuses a checkpoint built for another featurization scheme.
"""

from __future__ import annotations

import os
from typing import Any

from molssl.checkpoint import CheckpointError, load_weights, read_checkpoint, reading_checkpoint, save_checkpoint
from molssl.nn.encoder import EncoderConfig, GNNEncoder

ENCODER_KIND = "encoder"


def save_encoder(encoder: GNNEncoder, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
    """Write ``encoder`` (config + weights) to ``directory``; ``extra`` is plain data (e.g. the method)."""
    config = {"kind": ENCODER_KIND, "scheme": encoder.config.scheme, "encoder": encoder.config.to_dict()}
    save_checkpoint(directory, config, encoder.state_dict(), extra=extra)


def load_encoder_state(directory: str | os.PathLike, expected_scheme: dict | None = None) -> tuple[EncoderConfig, dict]:
    """The encoder config and weights stored in ``directory``.

    Accepts an encoder checkpoint or a property-predictor checkpoint (its encoder part).

    Raises:
        CheckpointError: unreadable, corrupt, or holding no encoder.
        SchemeMismatchError: the checkpoint was built for another scheme than ``expected_scheme``.
    """
    found = read_checkpoint(directory, expected_scheme=expected_scheme)
    config, state = found.config, found.state_dict
    kind = config.get("kind")
    with reading_checkpoint(found.path, f"the {kind} checkpoint's config"):
        if kind == ENCODER_KIND:
            return EncoderConfig.from_dict(config["encoder"]), state
        if kind == "property_predictor":
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            return EncoderConfig.from_dict(config["predictor"]["encoder"]), enc
    raise CheckpointError(f"{found.path}: checkpoint kind {kind!r} holds no encoder (expected 'encoder' or 'property_predictor')")


def load_encoder(directory: str | os.PathLike, expected_scheme: dict | None = None) -> GNNEncoder:
    """Rebuild the encoder stored in ``directory`` with its weights.

    Raises:
        CheckpointError: as ``load_encoder_state``, or weights that do not fit the encoder its config describes.
    """
    config, state = load_encoder_state(directory, expected_scheme)
    encoder = GNNEncoder(config)
    load_weights(encoder, state, directory)
    return encoder
