"""Verify that a file is the original an entry of the zoo names: by sha256, or by its upstream git blob id."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from molssl.data.download import ChecksumError
from molssl.files import file_sha256
from molssl.zoo.catalog import ZooEntry

_CHUNK = 1 << 20


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The object id git gives the file's content: SHA-1 of ``b"blob <size>\\0"`` + the bytes (``git hash-object``).

    Ties a file to an upstream repository's tree (``git ls-tree`` lists these ids) when no sha256 of it
    is published. Git's SHA-1 detects accidental corruption and substitution by anyone but a party able to
    forge SHA-1 collisions; a sha256 is preferred wherever one is known.
    """
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_source(path: str | os.PathLike, entry: ZooEntry) -> dict[str, str]:
    """Check ``path`` against ``entry``'s sha256 (when known) and git blob id; return both digests.

    Raises:
        FileNotFoundError: no such file.
        ChecksumError: the file is not the entry's original; the message says what to do instead.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (the original of {entry.name}, {entry.file_name})")
    digests = {"sha256": file_sha256(path), "git_blob_sha1": git_blob_sha1(path)}
    expected = {"sha256": entry.sha256, "git_blob_sha1": entry.git_blob_sha1}
    wrong = [f"{kind} {digests[kind]} (expected {value})" for kind, value in expected.items()
             if value is not None and digests[kind] != value]  # fmt: skip
    if wrong:
        raise ChecksumError(
            f"{path} is not the released {entry.file_name} of {entry.name}: {'; '.join(wrong)}. Get the original "
            f"from {entry.url}, or convert other weights with `molssl convert {entry.converter} FILE --arch "
            f"{entry.arch} --out DIR` and use DIR"
        )
    return digests


__all__ = ["git_blob_sha1", "verify_source"]
