"""Writing files and directories atomically, hashing them, and turning values into JSON data.

Every writer of a result another process may read (checkpoints, molecule stores, OGB layouts and their
caches, run records) goes through here, so a kill at any moment leaves the old content or the new one,
never half of either:

- ``write_text_atomic`` and ``write_json_atomic`` write a file through a temporary sibling, ``fsync`` and a
  rename; ``staged_file`` lends the temporary sibling to any other writer (a figure, a CSV).
- ``staged_directory`` lets a block fill a temporary sibling directory ``.NAME.tmp-<pid>@<host>-*``
  (the owner tag of ``molssl.process_owner``, so leftover sweeps can tell a live writer's copy from an
  abandoned one) and renames it into place; an existing ``NAME`` is first moved to
  ``.NAME.old-<pid>@<host>-*`` and removed only once the new copy stands.
- ``file_sha256`` hashes a file in chunks; ``json_sha256`` hashes a document as canonical JSON.
- ``json_safe`` is a value as strict JSON holds it (what a written document reads back as).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from molssl.process_owner import current_umask, owner_tag, publish_permissions

PathLike = str | os.PathLike
_CHUNK = 1 << 20


def file_sha256(path: PathLike) -> str:
    """The sha256 hex digest of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def json_sha256(document: Any) -> str:
    """The sha256 of ``document`` as canonical JSON (sorted keys, no spaces, UTF-8); NaN is refused."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON data: tuples become lists, keys strings, numpy scalars Python numbers,
    paths strings, and NaN or infinity ``None`` (JSON has neither)."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):  # numpy integers included where numpy registers them (np.integer is not int)
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar or 0-d array
        return json_safe(value.item())
    return value


@contextmanager
def staged_file(path: PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Write file ``path`` all at once: the block writes a temporary sibling, which then becomes it.

    When the block finishes, the temporary file is ``fsync``-ed, gets the modes the umask gives and is renamed
    to ``path``; if the block raises, it is removed. For writers that want a path of their own (a figure, a
    ``DataFrame.to_csv``); ``suffix`` ends its name (writers that pick a format by extension need the real one).

    Yields:
        The temporary file's path (it exists, empty).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the file should read like any other
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling, ``fsync`` and a rename."""
    with staged_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: PathLike, document: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
    """Write ``document`` as JSON to ``path`` through a temporary sibling, ``fsync`` and a rename.

    Raises:
        ValueError: ``document`` holds NaN or infinity (pass it through ``json_safe`` first).
        TypeError: ``document`` holds something JSON cannot (a set, an object).
    """
    write_text_atomic(path, json.dumps(document, indent=indent, sort_keys=sort_keys, allow_nan=False) + "\n")


def remove_aside(path: PathLike) -> None:
    """Remove a folder or file, renamed aside first so that no reader sees it half-deleted."""
    path = Path(path)
    aside = path.with_name(f".{path.name}.old-{owner_tag()}-{uuid.uuid4().hex[:8]}")
    os.replace(path, aside)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink()


@contextmanager
def staged_directory(target: PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Build directory ``target`` all at once: the block fills a temporary sibling, which then becomes it.

    When the block finishes, the temporary directory gets the modes the umask gives (``mkdtemp`` makes it
    0700) and is renamed to ``target``. An existing ``target`` (a directory or a file) is moved aside first,
    moved back if the rename fails, and removed after it; a kill between the two renames leaves both
    complete copies beside ``target``. If the block raises, the temporary directory is removed.

    Args:
        target: the directory to create or replace; its parent is created.
        replace: replace an existing ``target``; when False, an existing one raises ``FileExistsError``
            (also when another process put it there while the block ran).

    Yields:
        The temporary directory to fill.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner_tag()}-", dir=target.parent))
    try:
        yield tmp
        publish_permissions(tmp)
        _move_into_place(tmp, target, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, target: Path, replace: bool) -> None:
    if not os.path.lexists(target):
        try:
            os.rename(tmp, target)
            return
        except OSError as exc:
            if not os.path.lexists(target):
                raise
            if not replace:  # another process finished the same directory first
                raise FileExistsError(f"{target} already exists") from exc
    elif not replace:
        raise FileExistsError(f"{target} already exists")
    # a directory cannot be renamed over a non-empty one: move the old copy aside first
    old = target.parent / f".{target.name}.old-{owner_tag()}-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


__all__ = [
    "file_sha256", "json_safe", "json_sha256", "remove_aside", "staged_directory", "staged_file", "write_json_atomic",
    "write_text_atomic",
]  # fmt: skip
