"""Save and load a (pretrained) encoder of any registered kind as a plain-data checkpoint that fine-tuning loads.

The checkpoint is a ``molssl.checkpoint`` directory whose ``config.json`` holds::

    {"kind": "encoder", "encoder_kind": "gnn" | "resnet" | ..., "encoder": config.to_dict(),
     "scheme": the featurization scheme (graph encoders; else null),
     "source": the pretraining data's describe(), "preprocessing": its preprocessing()}

and whose weights are the encoder's ``state_dict`` (``molssl.nn.encoders`` rebuilds the module from
the kind and config). Pretraining writes it; ``PropertyPredictor.fit(pretrained=...)`` and the probes
read it and refuse a checkpoint built for another featurization scheme or other preprocessing (image
size, normalization, tokenizer: ``expected_preprocessing``). Checkpoints written before the kind was
recorded are graph encoders and load as such. Wherever a checkpoint is
asked for, the output folder of the command that wrote it works too (``checkpoint_in``): a pretraining
run folder stands for its ``encoder/``, a ``molssl finetune`` folder for its ``model/``. A multimodal
(``clip_align``) run holds one encoder per modality besides its ``encoder/`` (kind ``"multimodal"``, all
parts): asked for an encoder kind (``kind="gnn"``, ``"smiles_transformer"``, ...), the run folder or its
``encoder/`` stands for the part ``encoders/<modality>/`` of that kind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from molssl.checkpoint import CheckpointError, load_weights, read_checkpoint, reading_checkpoint, save_checkpoint
from molssl.chem.schemes import FeaturizationSpec, get_spec
from molssl.nn.encoders import build_encoder, config_from_dict, kind_of

ENCODER_KIND = "encoder"

#: the sub-folders of a command's output folder that hold its checkpoint: pretraining's encoder/, fine-tuning's model/
RUN_CHECKPOINTS = ("encoder", "model")

#: the encoder kind of a multimodal run's ``encoder/`` (all parts; ``molssl.multimodal.encoder``)
MULTIMODAL_KIND = "multimodal"


def checkpoint_in(path: str | os.PathLike, kind: str | None = None) -> Path:
    """The checkpoint ``path`` names: itself, or the ``encoder/`` or ``model/`` of a run folder holding one.

    Args:
        path: a checkpoint directory or the output folder of the command that wrote one.
        kind: the encoder kind the caller builds (``"gnn"``, ``"smiles_transformer"``, ...; None: any).
            Where ``path`` is a multimodal run (or its ``encoder/``), the run's ``encoders/<modality>/``
            holding an encoder of this kind is returned.

    Raises:
        CheckpointError: ``path`` is a pretraining run folder whose run has not finished (no ``encoder/``
            yet), saying how to finish it; or a multimodal run with no part of ``kind`` (its parts listed).
    """
    path = Path(path)
    for sub in RUN_CHECKPOINTS:
        if (path / sub / "config.json").is_file():
            return _part_of_kind(path / sub, kind, given=path)
    try:
        run_format = json.loads((path / "config.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        run_format = None
    if run_format == "molssl-pretrain-run":
        raise CheckpointError(f"{path} is a pretraining run folder without encoder/: the run has not finished; resume it "
                              f"(molssl pretrain --resume --out {path} with its options) or pass a finished run")  # fmt: skip
    return _part_of_kind(path, kind, given=path)


def _encoder_kind_in(checkpoint: Path) -> str | None:
    """The ``encoder_kind`` an encoder checkpoint's ``config.json`` records (None: not an encoder checkpoint)."""
    try:
        config = json.loads((checkpoint / "config.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return config.get("encoder_kind") if isinstance(config, dict) and config.get("kind") == ENCODER_KIND else None


def aligned_encoders(checkpoint: str | os.PathLike) -> dict[Path, str | None]:
    """A multimodal run's encoders, ``encoders/<modality>/`` -> encoder kind, when ``checkpoint`` is its ``encoder/``; else {}."""
    checkpoint = Path(checkpoint)
    if _encoder_kind_in(checkpoint) != MULTIMODAL_KIND:
        return {}
    folder = checkpoint.parent / "encoders"
    return {p: _encoder_kind_in(p) for p in sorted(folder.iterdir()) if p.is_dir()} if folder.is_dir() else {}


def describe_aligned(given: str | os.PathLike, parts: Mapping[Path, str | None]) -> str:
    """The start of a message refusing the multimodal run ``given`` where one encoder is needed, listing ``parts``."""
    listed = ", ".join(f"{p} ({k})" for p, k in parts.items()) or "none (its encoders/ folder is missing)"
    return f"{given} is a multimodal (clip_align) run: it holds one encoder per modality; its encoders: {listed}"


def _part_of_kind(checkpoint: Path, kind: str | None, given: Path) -> Path:
    """``checkpoint``, or, when it is a multimodal run's ``encoder/`` and ``kind`` another kind, its part of ``kind``."""
    if kind is None or kind == MULTIMODAL_KIND or _encoder_kind_in(checkpoint) != MULTIMODAL_KIND:
        return checkpoint
    parts = aligned_encoders(checkpoint)
    for part, part_kind in parts.items():
        if part_kind == kind:
            return part
    raise CheckpointError(f"{describe_aligned(given, parts)}; none is of kind {kind!r}. Pass one of them, with the "
                          f"encoder of its kind (molssl finetune --encoder smiles_transformer for the SMILES one)")  # fmt: skip


class PreprocessingMismatchError(CheckpointError):
    """An encoder checkpoint was pretrained with other preprocessing than the data it is asked to encode."""


def save_encoder(encoder: Any, directory: str | os.PathLike, extra: dict[str, Any] | None = None, *, source: Any = None) -> None:
    """Write ``encoder`` (its kind, config and weights) to ``directory``.

    Args:
        encoder: a module of a registered encoder kind, holding its config as ``encoder.config``.
        directory: the checkpoint directory.
        extra: plain data kept with it (e.g. the method).
        source: the ``molssl.pretrain.source.DataSource`` it was pretrained on: its ``describe()`` and
            ``preprocessing()`` are recorded.
    """
    options = encoder.config.to_dict()
    config = {"kind": ENCODER_KIND, "scheme": options.get("scheme"), "encoder_kind": kind_of(encoder.config), "encoder": options}
    if source is not None:
        config["source"] = source.describe()
        config["preprocessing"] = source.preprocessing()
    save_checkpoint(directory, config, encoder.state_dict(), extra=extra)


def recorded_preprocessing(config: Mapping[str, Any]) -> dict[str, Any]:
    """The preprocessing an encoder checkpoint's config records (older graph checkpoints: their scheme)."""
    if config.get("preprocessing") is not None:
        return dict(config["preprocessing"])
    return {} if config.get("scheme") is None else {"scheme": config["scheme"]}


def _check_preprocessing(path: Path, recorded: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """Refuse ``expected`` preprocessing that differs from ``recorded`` (the scheme is checked on reading)."""
    differing = sorted(k for k in set(recorded) | set(expected) if k != "scheme" and recorded.get(k) != expected.get(k))
    if differing:
        details = "; ".join(f"{k}: pretrained with {recorded.get(k)!r}, asked for {expected.get(k)!r}" for k in differing)
        raise PreprocessingMismatchError(f"{path}: the encoder was pretrained with other preprocessing ({details}); "
                                         "prepare the data as it was prepared for pretraining")  # fmt: skip


def load_encoder_state(
    directory: str | os.PathLike, expected_scheme: FeaturizationSpec | str | Mapping[str, Any] | None = None,
    *, expected_preprocessing: Mapping[str, Any] | None = None, encoder_kind: str | None = None,
) -> tuple[Any, dict]:  # fmt: skip
    """The encoder config (of its registered kind) and weights stored in ``directory``.

    Accepts an encoder checkpoint or a property-predictor checkpoint (its encoder part), or the run folder
    holding one (``checkpoint_in``). ``expected_scheme`` is a ``FeaturizationSpec`` (or a scheme name,
    or a recorded spec dict). ``expected_preprocessing`` is a ``DataSource.preprocessing()``: a
    checkpoint that records other preprocessing is refused (its ``"scheme"`` as ``expected_scheme``).
    ``encoder_kind``, the kind the caller builds, picks a multimodal run's encoder of that kind (``checkpoint_in``).

    Raises:
        CheckpointError: unreadable, corrupt, or holding no encoder.
        SchemeMismatchError: the checkpoint was built for another scheme than ``expected_scheme``.
        PreprocessingMismatchError: the checkpoint records other preprocessing than ``expected_preprocessing``.
    """
    if expected_scheme is None and expected_preprocessing is not None:
        expected_scheme = expected_preprocessing.get("scheme")
    expected = None if expected_scheme is None else get_spec(expected_scheme).to_dict()
    found = read_checkpoint(checkpoint_in(directory, encoder_kind), expected_scheme=expected)
    config, state = found.config, found.state_dict
    kind = config.get("kind")
    with reading_checkpoint(found.path, f"the {kind} checkpoint's config"):
        if kind == ENCODER_KIND:
            if expected_preprocessing is not None:
                _check_preprocessing(found.path, recorded_preprocessing(config), expected_preprocessing)
            return config_from_dict(config["encoder"], kind=config.get("encoder_kind", "gnn")), state
        if kind == "property_predictor":
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            return config_from_dict({"kind": "gnn", **config["predictor"]["encoder"]}), enc
    raise CheckpointError(f"{found.path}: checkpoint kind {kind!r} holds no encoder (expected 'encoder' or 'property_predictor')")


def load_encoder(
    directory: str | os.PathLike, expected_scheme: FeaturizationSpec | str | Mapping[str, Any] | None = None,
    *, expected_preprocessing: Mapping[str, Any] | None = None, encoder_kind: str | None = None,
) -> Any:  # fmt: skip
    """Rebuild the encoder stored in ``directory`` (a ``GNNEncoder`` or another registered kind) with its weights.

    Raises:
        CheckpointError: as ``load_encoder_state``, or weights that do not fit the encoder its config describes.
    """
    config, state = load_encoder_state(directory, expected_scheme, expected_preprocessing=expected_preprocessing,
                                       encoder_kind=encoder_kind)
    encoder = build_encoder(config)
    load_weights(encoder, state, directory)
    return encoder
