"""Downloading a data file: streamed to a temporary file, checksum-verified, then renamed into place."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from molssl.data.corpus import PathLike
from molssl.files import file_sha256

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ChecksumError(ValueError):
    """A downloaded file's sha256 differs from the expected one (nothing was written to the destination)."""


def download(url: str, dest: PathLike, sha256: str | None = None, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically, optionally verifying its sha256.

    The body is streamed into a temporary file beside ``dest`` and renamed onto ``dest`` only once it is
    complete and its checksum matches, so ``dest`` is never left half-written: on any failure the temporary
    file is removed and an existing ``dest`` is untouched. If ``dest`` already exists and ``sha256`` is given
    and matches, nothing is downloaded; without ``sha256`` an existing file is replaced.

    Args:
        url: any URL ``urllib`` opens (``https://``, ``file://``, ...).
        dest: the file to write; missing parent directories are created.
        sha256: expected hex digest (case-insensitive), or None to skip verification.
        timeout: seconds to wait for the server on each blocking operation.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``sha256`` is not a 64-digit hex string.
        ChecksumError: the downloaded content does not match ``sha256``.
        OSError: the URL could not be read or the file not written.
    """
    dest = Path(dest)
    expected = None
    if sha256 is not None:
        expected = sha256.strip().lower()
        if not _SHA256_HEX.match(expected):
            raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
        if dest.is_file() and file_sha256(dest) == expected:
            logger.info("%s already present with the expected sha256, not downloading", dest)
            return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False)
    tmp_path = Path(handle.name)
    try:
        digest = hashlib.sha256()
        with handle:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        handle.write(chunk)
            except urllib.error.URLError as exc:
                raise OSError(
                    f"could not download {url}: {exc.reason}. Check the URL and network access, or fetch the "
                    f"file another way and place it at {dest}."
                ) from exc
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise ChecksumError(
                f"{url}: sha256 of the downloaded content is {actual}, expected {expected}; {dest} was not "
                f"written. The file may have changed upstream or the transfer was corrupted: retry, and if it "
                f"persists, check the source before updating the expected checksum."
            )
        os.chmod(tmp_path, 0o644)  # NamedTemporaryFile creates 0600; a data file should be readable like any other
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    logger.info("downloaded %s to %s (sha256 %s)", url, dest, actual)
    return dest
