"""Delta checkpoints of property predictors: the fine-tuned delta plus the name and digest of the base encoder.

A predictor fine-tuned with a PEFT mode from a pretrained encoder differs from that encoder only in
its PEFT modules (or BitFit's biases and norms), readout and head. ``save_delta`` writes those
(``molssl.peft.state_delta``) with ``config.json`` holding ``{"kind": "property_predictor_delta",
"scheme", "predictor", "base": {"name", "sha256", "num_tensors"}}``; ``delta_state`` rebuilds the full
weights from the base, after refusing a base whose weights are not the recorded ones.
``PropertyPredictor.save(delta=True)`` and ``PropertyPredictor.load`` use them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from torch import Tensor

from molssl.checkpoint import Checkpoint, CheckpointError, reading_checkpoint, save_checkpoint
from molssl.nn.encoder import EncoderConfig
from molssl.nn.encoders import config_from_dict, kind_of
from molssl.nn.pretrained import load_encoder_state
from molssl.peft import apply_delta, base_record, check_base, state_delta
from molssl.tasks.model import PropertyModel
from molssl.text.inputs import molecule_scheme
from molssl.zoo import resolve_pretrained
from molssl.zoo.catalog import ZOO

DELTA_KIND = "property_predictor_delta"
ENCODER_PREFIX = "encoder."


def base_name(pretrained: str | os.PathLike) -> str:
    """How a delta checkpoint names its base: a zoo name as is, a directory as its absolute path."""
    text = os.fspath(pretrained)
    return text if text in ZOO and not os.path.exists(text) else os.path.abspath(text)


def _base_state(name: str | os.PathLike, encoder: Any) -> dict[str, Tensor]:
    """The weights of base encoder ``name`` for a model with encoder config ``encoder``.

    A GNN base must record the model's featurization scheme; another encoder's (the SMILES transformer's)
    must be of the same kind (its weights digest, checked by the callers, pins its vocabulary).
    """
    if isinstance(encoder, EncoderConfig):
        _, state = load_encoder_state(resolve_pretrained(name), expected_scheme=encoder.scheme)
        return state
    config, state = load_encoder_state(resolve_pretrained(name))
    if kind_of(config) != kind_of(encoder):
        raise ValueError(f"it holds a {kind_of(config)} encoder, the model a {kind_of(encoder)} one")
    return state


def save_delta(model: PropertyModel, directory: str | os.PathLike, base: str | os.PathLike, extra: Mapping[str, Any],
               expected_sha256: str | None = None) -> Path:  # fmt: skip
    """Write ``model``'s difference from the base encoder ``base`` (a checkpoint directory or zoo name).

    Args:
        model: the fine-tuned model.
        directory: where to write.
        base: the pretrained encoder the model was fine-tuned from.
        extra: plain data stored beside (target scaler, metrics, info).
        expected_sha256: the ``state_sha256`` of the weights the model was fine-tuned from, if known.

    Raises:
        BaseMismatchError: ``base`` no longer holds the weights of ``expected_sha256``.
        CheckpointError: the base cannot be read, or the model does not contain it (another architecture).
    """
    scheme = molecule_scheme(model.config.encoder)
    base_state = _base_state(base, model.config.encoder)
    if expected_sha256 is not None:
        check_base({"name": "the encoder fit() started from", "sha256": expected_sha256}, base_state, os.fspath(base), os.fspath(directory))
    own = model.state_dict()
    missing = [name for name in base_state if ENCODER_PREFIX + name not in own]
    if missing:
        raise CheckpointError(f"{base}: the base encoder has tensors the model lacks ({', '.join(missing[:5])}); it is not this model's base")
    config = {"kind": DELTA_KIND, "scheme": scheme.to_dict(), "predictor": model.config.to_dict(),
              "base": base_record(base_name(base), base_state)}  # fmt: skip
    return save_checkpoint(directory, config, state_delta(own, base_state, ENCODER_PREFIX), extra=dict(extra))


def delta_state(found: Checkpoint, base: str | os.PathLike | None = None) -> dict[str, Tensor]:
    """The full weights of a delta checkpoint: its base's (``base``, default the recorded one) plus the delta.

    Raises:
        BaseMismatchError: ``base`` holds other weights than the ones the delta was trained from.
        CheckpointError: the base cannot be found or read.
    """
    with reading_checkpoint(found.path, "the delta checkpoint's base record"):
        recorded = found.config["base"]
        name = base if base is not None else recorded["name"]
        encoder = config_from_dict({"kind": "gnn", **found.config["predictor"]["encoder"]})
    try:
        base_state = _base_state(name, encoder)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{found.path}: cannot read its base encoder {os.fspath(name)!r} ({exc}); pass base= the "
                              "encoder checkpoint it was fine-tuned from") from exc  # fmt: skip
    check_base(recorded, base_state, os.fspath(name), str(found.path))
    return apply_delta(base_state, found.state_dict, ENCODER_PREFIX)


__all__ = ["DELTA_KIND", "base_name", "delta_state", "save_delta"]
