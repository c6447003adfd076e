"""Who owns a temporary directory: the ``<pid>@<host>`` tag that store builds and checkpoint saves put in
the names of their temporary directories, and whether that owner still runs.

A killed process leaves its temporary directory behind; the next build or save removes it once its owner
is gone (this host: the process no longer exists; another host, or no tag: older than ``STALE_AFTER_S``),
and never touches one a live process is still writing. A finished temporary directory gets the permissions
the user's umask gives new files (``publish_permissions``) before it is renamed into place: ``mkdtemp`` makes
it 0700, and some writers (safetensors) make files 0600.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

#: age after which a temporary directory whose owner cannot be checked counts as abandoned
STALE_AFTER_S = 24 * 3600


def safe_host(name: str) -> str:
    """A host name as it appears in temporary directory names (letters, digits, ``_`` and ``.``)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", name) or "host"


def this_host() -> str:
    """This machine's name as ``safe_host`` writes it."""
    return safe_host(socket.gethostname())


def owner_tag() -> str:
    """``<pid>@<host>``: this process, as temporary directory names record their owner."""
    return f"{os.getpid()}@{this_host()}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (True when that cannot be told)."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def current_umask() -> int:
    """This process's umask (read without changing it where ``/proc`` tells it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but only for an instant)
    os.umask(mask)
    return mask


def publish_permissions(directory: str | os.PathLike) -> None:
    """Give ``directory`` and everything in it the modes the umask gives new folders (0777) and files (0666)."""
    mask = current_umask()
    root = Path(directory)
    os.chmod(root, 0o777 & ~mask)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


__all__ = ["STALE_AFTER_S", "current_umask", "owner_tag", "process_alive", "publish_permissions", "safe_host", "this_host"]
