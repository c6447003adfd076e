"""Checkpoints as plain data: a directory with ``config.json`` and safetensors weights.

A checkpoint directory holds::

    config.json         {"format": "molssl-checkpoint", "format_version": 2, "molssl_version": ...,
                         "created": ISO-8601 UTC time, "config": component configs (with "scheme", the
                         featurization scheme's ``describe()``), "extra": plain data (e.g. a target
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

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from torch import Tensor

from molssl.process_owner import STALE_AFTER_S, owner_tag, process_alive, publish_permissions, this_host

FORMAT = "molssl-checkpoint"
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: key of the weights' safetensors metadata holding the sha256 of config + extra (format 2 on)
CONTENT_SHA256 = "molssl_content_sha256"
#: where a save stages the new copy and moves the old one: ``.NAME.tmp-*`` and ``.NAME.old-*`` beside NAME
_STAGING = ("tmp", "old")
#: the writer's ``<pid>@<host>-`` at the start of a staged copy's name after ``.NAME.tmp-``
_OWNED = re.compile(r"(?P<pid>\d+)@(?P<host>[A-Za-z0-9_.]+)-")


class CheckpointError(RuntimeError):
    """A checkpoint directory is missing, incomplete, corrupt, or from an unsupported format version."""


class SchemeMismatchError(CheckpointError):
    """A checkpoint was trained on a featurization scheme other than the one requested."""


class CheckpointRecoveryWarning(UserWarning):
    """A checkpoint was loaded from the copy an interrupted save left beside it."""


def _check_plain(value: Any, where: str) -> None:
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
            _check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}; checkpoint configs hold plain data only "
        "(dict, list, str, int, float, bool, None): convert it (e.g. .item(), .tolist(), a dataclass's asdict)"
    )


def _plain_tensors(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
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
    bad = _non_finite(tensors)
    if bad:
        raise ValueError(f"refusing to save {_describe_non_finite(bad)}; the model has diverged (the last saved checkpoint is intact)")
    return tensors


def _non_finite(tensors: Mapping[str, Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or infinity, sorted."""
    return sorted(name for name, t in tensors.items() if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()))


def _describe_non_finite(names: list[str]) -> str:
    shown = ", ".join(names[:10]) + (f", ... ({len(names) - 10} more)" if len(names) > 10 else "")
    return f"non-finite values (NaN or infinity) in {len(names)} tensor(s): {shown}"


def _content_sha256(config: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    """sha256 of ``config`` and ``extra`` as canonical JSON (sorted keys, no spaces): what the weights vouch for."""
    text = json.dumps({"config": config, "extra": extra}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _sha256(text.encode("utf-8"))


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, Path):
        digest = hashlib.sha256()
        with open(data, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    return hashlib.sha256(data).hexdigest()


def _write_json(path: Path, document: dict) -> None:
    text = json.dumps(document, indent=2, allow_nan=False)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
        fh.flush()
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


def staged_copies(directory: str | os.PathLike) -> list[Path]:
    """The ``.NAME.tmp-*`` and ``.NAME.old-*`` directories that saves of ``directory`` left beside it.

    A save killed before its final rename leaves them: a temporary copy (complete once its
    ``config.json`` exists) and, while replacing, the previous checkpoint moved aside.
    """
    directory = Path(os.path.abspath(directory))
    if not directory.parent.is_dir():
        return []
    prefixes = tuple(f".{directory.name}.{kind}-" for kind in _STAGING)
    return sorted(p for p in directory.parent.iterdir() if p.name.startswith(prefixes) and p.is_dir())


def remove_staged_copies(directory: str | os.PathLike, keep: Path | None = None) -> list[Path]:
    """Remove the leftovers of interrupted saves of ``directory``, never one a running save still writes.

    A staged copy is named after the process that wrote it (``.NAME.tmp-<pid>@<host>-*``); it stays
    while that process runs on this host (a concurrent save of the same checkpoint), or, from another
    host, for ``molssl.process_owner.STALE_AFTER_S``. Unnamed copies (older molssl) and this process's
    own are removed.

    The only complete copy is never removed: copies go only when ``directory`` is complete (verified),
    or when ``keep`` names a complete copy the caller has read (e.g. the one a run resumed from).

    Args:
        directory: the checkpoint.
        keep: a staged copy to keep.

    Returns:
        The directories removed.
    """
    directory = Path(os.path.abspath(directory))
    if keep is None:
        try:
            _read_verified(directory)
        except CheckpointError:
            return []
    return _remove_unused(directory, None if keep is None else Path(os.path.abspath(keep)))


def _remove_unused(directory: Path, keep: Path | None = None) -> list[Path]:
    removed = [path for path in staged_copies(directory) if path != keep and not _in_use(path, directory)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _in_use(path: Path, directory: Path) -> bool:
    """Whether another process may still be writing the staged copy ``path`` of ``directory``."""
    owner = _OWNED.match(path.name[len(f".{directory.name}.tmp-"):])  # "tmp" and "old" have the same length
    if owner is None:
        return False
    if owner["host"] != this_host() or os.name != "posix":
        try:
            return time.time() - path.stat().st_mtime < STALE_AFTER_S
        except OSError:
            return False
    pid = int(owner["pid"])
    return pid != os.getpid() and process_alive(pid)


def _move_into_place(tmp: Path, directory: Path) -> None:
    """Rename the finished ``tmp`` to ``directory``, replacing an existing checkpoint there."""
    if not directory.exists():
        os.rename(tmp, directory)
        return
    # a directory cannot be renamed over a non-empty one: move the old checkpoint aside first. A kill
    # between the two renames leaves no `directory` but two complete copies, which loading finds.
    old = directory.parent / f".{directory.name}.old-{owner_tag()}-{uuid.uuid4().hex[:8]}"
    os.rename(directory, old)
    try:
        os.rename(tmp, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
            (``molssl.get_scheme(name).describe()``) so that loading can refuse a mismatch.
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
    from safetensors.torch import save_file

    from molssl import __version__

    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of plain data, got {type(config).__name__}")
    _check_plain(config, "config")
    extra = {} if extra is None else extra
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict of plain data or None, got {type(extra).__name__}")
    _check_plain(extra, "extra")
    scheme = config.get("scheme")
    if scheme is not None and not (isinstance(scheme, Mapping) and "name" in scheme and "version" in scheme):
        raise TypeError("config['scheme'] must be the scheme's describe() dict, with at least 'name' and 'version'")
    tensors = _plain_tensors(state_dict)

    directory = Path(os.path.abspath(directory))
    _check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-{owner_tag()}-", dir=directory.parent))
    try:
        weights = tmp / WEIGHTS_FILE
        save_file(tensors, str(weights), metadata={"format": "pt", CONTENT_SHA256: _content_sha256(config, extra)})
        _fsync_file(weights)
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "molssl_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "config": config,
            "extra": extra,
            "weights": {"file": WEIGHTS_FILE, "sha256": _sha256(weights), "size": weights.stat().st_size},
        }
        # config.json last: a directory without it is never taken for a checkpoint
        _write_json(tmp / CONFIG_FILE, document)
        publish_permissions(tmp)  # mkdtemp's 0700 and safetensors' 0600 -> what the user's umask gives
        _move_into_place(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_unused(directory)
    return directory


def _read_document(directory: Path) -> dict[str, Any]:
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


def _check_scheme(config: Mapping[str, Any], expected: Mapping[str, Any], directory: Path) -> None:
    if not isinstance(expected, Mapping) or "name" not in expected or "version" not in expected:
        raise TypeError("expected_scheme must be a scheme's describe() dict, with at least 'name' and 'version'")
    trained = config.get("scheme")
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
    differing = sorted(key for key in set(trained) & set(expected) if trained[key] != _jsonable(expected[key]))
    if differing:
        raise SchemeMismatchError(
            f"checkpoint {directory} and the requested scheme are both {_describe_scheme(expected)} but differ in "
            f"{', '.join(differing)}; the scheme changed without a version bump"
        )


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparing with a loaded config."""
    return json.loads(json.dumps(value))


def _read_verified(directory: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """The document and tensors of one checkpoint directory, after every check (size, sha256s, finiteness)."""
    from safetensors.torch import load

    document = _read_document(directory)
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
    digest = _sha256(data)
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
        actual = _content_sha256(document["config"], document.get("extra", {}))
        if actual != recorded:
            raise CheckpointError(
                f"{directory / CONFIG_FILE}: the config or extra was changed after saving (sha256 {actual}, the weights "
                f"record {recorded}); an edited config would silently change the model's predictions, so it is refused. "
                "Restore the file, or build the model anew and save it"
            )
    bad = _non_finite(state_dict)
    if bad:
        raise CheckpointError(f"{weights_file}: {_describe_non_finite(bad)}; the checkpoint holds a diverged model, use an earlier one or retrain")
    return document, state_dict


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: where it was read from and what it holds.

    Attributes:
        path: the directory the data came from (the requested one, or the complete copy an
            interrupted save left beside it).
        config: the component configs.
        state_dict: the tensors, on the CPU.
        extra: the extra plain data.
        created: when it was saved (ISO-8601, UTC).
    """

    path: Path
    config: dict[str, Any]
    state_dict: dict[str, Tensor]
    extra: dict[str, Any]
    created: str


def _recency(path: Path, document: Mapping[str, Any], directory: Path) -> tuple[datetime, int]:
    """Sort key, newest last: the save time, then (same second in format 1) staged copy > checkpoint > old copy."""
    try:
        created = datetime.fromisoformat(document.get("created", ""))
        created = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        created = datetime.min.replace(tzinfo=timezone.utc)
    rank = 1 if path == directory else (2 if path.name.startswith(f".{directory.name}.tmp-") else 0)
    return created, rank


def read_checkpoint(directory: str | os.PathLike, expected_scheme: Mapping[str, Any] | None = None, *, newest: bool = False) -> Checkpoint:
    """Read and verify the checkpoint at ``directory``, recovering from an interrupted save.

    ``directory`` itself is used when it is complete. When it is missing or incomplete (a save was
    killed between moving the old copy aside and renaming the new one into place), the newest
    complete copy among ``.NAME.tmp-*`` and ``.NAME.old-*`` is used, with a
    ``CheckpointRecoveryWarning`` naming it.

    Args:
        directory: the checkpoint directory.
        expected_scheme: as in ``load_checkpoint``.
        newest: take the newest complete copy even when ``directory`` is complete (a save killed
            after writing its new copy in full, before renaming it): what resuming a run wants.

    Raises:
        CheckpointError: no complete copy; the message gives the reason for each one found.
        SchemeMismatchError: if ``expected_scheme`` differs from the checkpoint's scheme.
    """
    directory = Path(os.path.abspath(directory))
    candidates: list[tuple[Path, dict[str, Any], dict[str, Tensor]]] = []
    try:
        candidates.append((directory, *_read_verified(directory)))
        main_error = None
    except CheckpointError as exc:
        main_error = exc
    staged = staged_copies(directory) if newest or main_error is not None else []
    problems = []
    for path in staged:
        try:
            candidates.append((path, *_read_verified(path)))
        except CheckpointError as exc:
            problems.append(str(exc))
    if not candidates:
        assert main_error is not None
        if not problems:
            raise main_error
        raise CheckpointError(f"{main_error}; a save of it was interrupted and left no complete copy: {'; '.join(problems)}") from main_error
    path, document, state_dict = max(candidates, key=lambda c: _recency(c[0], c[1], directory))
    if path != directory:
        if main_error is None:
            why = f"{directory}: a save was interrupted after writing a newer complete copy"
        else:
            why = f"checkpoint {directory} is " + ("missing" if not directory.exists() else f"unusable ({main_error})")
        warnings.warn(
            f"{why}; loaded the complete copy {path} written {document.get('created')} (an interrupted save left it; "
            f"the next save of {directory.name} puts a checkpoint back in place)",
            CheckpointRecoveryWarning,
            stacklevel=2,
        )
    config, extra = document["config"], document.get("extra", {})
    if expected_scheme is not None:
        _check_scheme(config, expected_scheme, path)
    return Checkpoint(path, config, state_dict, extra, str(document.get("created")))


def load_checkpoint(
    directory: str | os.PathLike, expected_scheme: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Tensor], dict[str, Any]]:
    """Read a checkpoint written by ``save_checkpoint``, verifying it first.

    A checkpoint whose replacement was interrupted is recovered as in ``read_checkpoint``.

    Args:
        directory: the checkpoint directory.
        expected_scheme: the featurization scheme the caller will feed the model
            (``molssl.get_scheme(name).describe()``); when given, a checkpoint trained on another
            scheme (name or version) is refused.

    Returns:
        ``(config, state_dict, extra)``: the component configs, the tensors (on CPU), and the extra data.

    Raises:
        CheckpointError: if the directory or a file is missing, ``config.json`` is malformed, from a
            newer format version or edited after saving, the weights do not match their recorded size
            and sha256, or they hold NaN or infinity.
        SchemeMismatchError: if ``expected_scheme`` differs from the checkpoint's scheme.
    """
    found = read_checkpoint(directory, expected_scheme)
    return found.config, found.state_dict, found.extra


def load_weights(module: torch.nn.Module, state_dict: Mapping[str, Tensor], source: str | os.PathLike) -> None:
    """``module.load_state_dict(state_dict, strict=True)``, or a ``CheckpointError`` listing what does not fit.

    Args:
        module: the model built from the checkpoint's config.
        state_dict: the weights read from ``source``.
        source: the checkpoint (for the message).

    Raises:
        CheckpointError: names the missing and unexpected tensors and those of another shape.
    """
    expected = module.state_dict()
    missing = [name for name in expected if name not in state_dict]
    unexpected = [name for name in state_dict if name not in expected]
    reshaped = [
        f"{name} (checkpoint {list(state_dict[name].shape)}, model {list(tensor.shape)})"
        for name, tensor in expected.items()
        if name in state_dict and state_dict[name].shape != tensor.shape
    ]
    parts = [f"{label}: {', '.join(names[:10])}" + (f", ... ({len(names) - 10} more)" if len(names) > 10 else "")
             for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", reshaped)) if names]  # fmt: skip
    if parts:
        raise CheckpointError(
            f"{source}: the weights do not fit the {type(module).__name__} its config describes ({'; '.join(parts)}); "
            "the checkpoint was written for another architecture or is damaged"
        )
    module.load_state_dict(state_dict, strict=True)


@contextmanager
def reading_checkpoint(directory: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn a missing key or an invalid value met while interpreting a checkpoint into a ``CheckpointError``.

    Use around the code that builds objects from a loaded config:
    ``with reading_checkpoint(path, "the predictor config"): PredictorConfig.from_dict(config["predictor"])``.

    Raises:
        CheckpointError: naming ``directory``'s ``config.json``, ``what`` and the key or the reason.
    """
    source = Path(directory) / CONFIG_FILE
    try:
        yield
    except CheckpointError:
        raise
    except KeyError as exc:
        raise CheckpointError(f"{source}: {what} has no {exc.args[0]!r}; the checkpoint is of another kind or damaged") from exc
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: {what} is invalid ({exc})") from exc


__all__ = [
    "CONFIG_FILE", "FORMAT", "FORMAT_VERSION", "WEIGHTS_FILE", "Checkpoint", "CheckpointError", "CheckpointRecoveryWarning",
    "SchemeMismatchError", "load_checkpoint", "load_weights", "read_checkpoint", "reading_checkpoint", "remove_staged_copies",
    "save_checkpoint", "staged_copies",
]  # fmt: skip
