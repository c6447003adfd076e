"""The copies interrupted saves leave beside a checkpoint, and removing those no running save still writes.

A save stages its new copy in ``.NAME.tmp-<pid>@<host>-*`` and moves the checkpoint it replaces to
``.NAME.old-<pid>@<host>-*`` (``molssl.files.staged_directory``); a kill between the steps leaves them.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from molssl.checkpoint.format import CheckpointError
from molssl.checkpoint.verify import read_verified
from molssl.process_owner import STALE_AFTER_S, process_alive, this_host

#: where a save stages the new copy and moves the old one: ``.NAME.tmp-*`` and ``.NAME.old-*`` beside NAME
_STAGING = ("tmp", "old")
#: the writer's ``<pid>@<host>-`` at the start of a staged copy's name after ``.NAME.tmp-``
_OWNED = re.compile(r"(?P<pid>\d+)@(?P<host>[A-Za-z0-9_.]+)-")


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
            read_verified(directory)
        except CheckpointError:
            return []
    return remove_unused(directory, None if keep is None else Path(os.path.abspath(keep)))


def remove_unused(directory: Path, keep: Path | None = None) -> list[Path]:
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


__all__ = ["remove_staged_copies", "remove_unused", "staged_copies"]
