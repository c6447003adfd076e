"""Loading a checkpoint: the verified copy (recovering from an interrupted save), and its weights into a model."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from torch import Tensor

from molssl.checkpoint.format import CONFIG_FILE, CheckpointError, CheckpointRecoveryWarning
from molssl.checkpoint.staging import staged_copies
from molssl.checkpoint.verify import check_scheme, read_verified


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
        candidates.append((directory, *read_verified(directory)))
        main_error = None
    except CheckpointError as exc:
        main_error = exc
    staged = staged_copies(directory) if newest or main_error is not None else []
    problems = []
    for path in staged:
        try:
            candidates.append((path, *read_verified(path)))
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
        check_scheme(config, expected_scheme, path)
    return Checkpoint(path, config, state_dict, extra, str(document.get("created")))


def load_checkpoint(
    directory: str | os.PathLike, expected_scheme: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Tensor], dict[str, Any]]:
    """Read a checkpoint written by ``save_checkpoint``, verifying it first.

    A checkpoint whose replacement was interrupted is recovered as in ``read_checkpoint``.

    Args:
        directory: the checkpoint directory.
        expected_scheme: the featurization scheme the caller will feed the model
            (``molssl.get_spec(name).to_dict()``); when given, a checkpoint trained on another
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


__all__ = ["Checkpoint", "load_checkpoint", "load_weights", "read_checkpoint", "reading_checkpoint"]
