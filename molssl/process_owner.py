"""Who owns a temporary directory: the ``<pid>@<host>`` tag that store builds and checkpoint saves put in
the names of their temporary directories, and whether that owner still runs.

A killed process leaves its temporary directory behind; the next build or save removes it once its owner
is gone (this host: the process no longer exists; another host, or no tag: older than ``STALE_AFTER_S``),
and never touches one a live process is still writing.
"""

from __future__ import annotations

import os
import re
import socket

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


__all__ = ["STALE_AFTER_S", "owner_tag", "process_alive", "safe_host", "this_host"]
