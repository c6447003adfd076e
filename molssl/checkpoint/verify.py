"""Reading one checkpoint directory and checking everything before use: format, sizes, checksums, finiteness, scheme."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from torch import Tensor

from molssl.checkpoint.format import (
    CONFIG_FILE,
    CONTENT_SHA256,
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    SchemeMismatchError,
    content_sha256,
    describe_non_finite,
    non_finite,
)
from molssl.files import json_safe


def read_document(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoint at {directory}: the directory does not exist")
    config_file = directory / CONFIG_FILE
    if not config_file.is_file():
        raise CheckpointError(f"{directory} is not a complete molssl checkpoint: {CONFIG_FILE} is missing")
    try:
        document = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{config_file}: malformed JSON ({exc}); the checkpoint is damaged, save it again") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise CheckpointError(f"{config_file}: not a molssl checkpoint (format {found!r}, expected {FORMAT!r})")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{config_file}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        from molssl import __version__

        raise CheckpointError(
            f"{config_file}: checkpoint format version {version} was written by molssl "
            f"{document.get('molssl_version', '?')}; this molssl ({__version__}) reads format version "
            f"{FORMAT_VERSION} and older. Upgrade molssl to load it."
        )
    weights = document.get("weights")
    if (
        not isinstance(document.get("config"), dict)
        or not isinstance(document.get("extra", {}), dict)
        or not isinstance(weights, dict)
        or not isinstance(weights.get("file"), str)
        or not isinstance(weights.get("sha256"), str)
    ):
        raise CheckpointError(f"{config_file}: incomplete checkpoint metadata (needs 'config', 'extra' and 'weights' with 'file' and 'sha256')")
    if Path(weights["file"]).name != weights["file"] or weights["file"] in ("", ".", ".."):
        raise CheckpointError(f"{config_file}: weights file {weights['file']!r} must be a plain file name inside the checkpoint")
    return document


def _describe_scheme(scheme: Mapping[str, Any]) -> str:
    return f"{scheme.get('name')!r} v{scheme.get('version')}"


def check_scheme(config: Mapping[str, Any], expected: Mapping[str, Any], directory: Path) -> None:
    if not isinstance(expected, Mapping) or "name" not in expected or "version" not in expected:
        raise TypeError("expected_scheme must be a FeaturizationSpec.to_dict() dict, with at least 'name' and 'version'")
    trained = config.get("scheme")
    kind = config.get("encoder_kind")
    if not isinstance(trained, Mapping) and isinstance(kind, str) and kind != "gnn":
        raise SchemeMismatchError(
            f"checkpoint {directory} holds a {kind!r} encoder, not a graph encoder: it reads no featurized graphs "
            f"(requested scheme {_describe_scheme(expected)}); use it with a model of its kind"
        )
    if not isinstance(trained, Mapping):
        raise SchemeMismatchError(
            f"checkpoint {directory} records no featurization scheme, so it cannot be checked against the requested "
            f"scheme {_describe_scheme(expected)}; load it without expected_scheme only if you know which scheme it used"
        )
    if (trained.get("name"), trained.get("version")) != (expected["name"], expected["version"]):
        raise SchemeMismatchError(
            f"checkpoint {directory} was trained with featurization scheme {_describe_scheme(trained)}, but scheme "
            f"{_describe_scheme(expected)} was requested; featurize with scheme {trained.get('name')!r} "
            f"(version {trained.get('version')}) to use this checkpoint"
        )
    differing = sorted(key for key in set(trained) & set(expected) if trained[key] != json_safe(expected[key]))
    if differing:
        raise SchemeMismatchError(
            f"checkpoint {directory} and the requested scheme are both {_describe_scheme(expected)} but differ in "
            f"{', '.join(differing)}; the scheme changed without a version bump"
        )


def read_verified(directory: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """The document and tensors of one checkpoint directory, after every check (size, sha256s, finiteness)."""
    from safetensors.torch import load

    document = read_document(directory)
    weights = document["weights"]
    weights_file = directory / weights["file"]
    try:
        data = weights_file.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{weights_file}: weights file is missing; the checkpoint is incomplete") from None
    except OSError as exc:
        raise CheckpointError(f"{weights_file}: cannot read weights ({exc})") from exc
    size = weights.get("size")
    if isinstance(size, int) and len(data) != size:
        state = "truncated" if len(data) < size else "longer than recorded"
        raise CheckpointError(f"{weights_file}: {len(data)} bytes but {CONFIG_FILE} records {size}; the file is {state}, save the checkpoint again")
    digest = hashlib.sha256(data).hexdigest()
    if digest != weights["sha256"]:
        raise CheckpointError(
            f"{weights_file}: sha256 {digest} does not match {weights['sha256']} recorded in {CONFIG_FILE}; "
            "the file is corrupted, save the checkpoint again"
        )
    try:
        state_dict = load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        metadata = header.get("__metadata__") or {}
    except Exception as exc:  # safetensors raises its own error types for malformed headers
        raise CheckpointError(f"{weights_file}: not a readable safetensors file ({exc})") from exc
    if document["format_version"] >= 2:
        recorded = metadata.get(CONTENT_SHA256)
        if not isinstance(recorded, str):
            raise CheckpointError(f"{weights_file}: no config checksum ({CONTENT_SHA256}) in the weights' metadata of a format-2 checkpoint; it is damaged, save it again")
        actual = content_sha256(document["config"], document.get("extra", {}))
        if actual != recorded:
            raise CheckpointError(
                f"{directory / CONFIG_FILE}: the config or extra was changed after saving (sha256 {actual}, the weights "
                f"record {recorded}); an edited config would silently change the model's predictions, so it is refused. "
                "Restore the file, or build the model anew and save it"
            )
    bad = non_finite(state_dict)
    if bad:
        raise CheckpointError(f"{weights_file}: {describe_non_finite(bad)}; the checkpoint holds a diverged model, use an earlier one or retrain")
    return document, state_dict


__all__ = ["check_scheme", "read_document", "read_verified"]
