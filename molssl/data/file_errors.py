"""Failures to read a data file, as one error type that names the file, the line and the reason.

The readers of ``molssl.data.corpus`` open SMILES, CSV and TSV files, plain or gzip-compressed, as
UTF-8 text. What goes wrong there surfaces from the standard library or pandas as an exception that
often does not name the file (``EOFError`` for a truncated ``.gz``, ``UnicodeDecodeError`` for a
Latin-1 file, pandas' ``EmptyDataError``) or reads as a misleading one (a binary file "has no SMILES
column"). ``reads_file`` wraps a reader so that each of these becomes a ``DataFileError``: a
``ValueError`` whose message is ``"PATH[, line N]: reason"`` and says how to fix it. A missing file
stays ``FileNotFoundError``.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import os
import zlib
from typing import IO, Callable, TypeVar

#: bytes looked at before reading, to tell text from UTF-16 or binary data
SNIFF_BYTES = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"

F = TypeVar("F", bound=Callable)


class DataFileError(ValueError):
    """A data file cannot be read: not found aside, the message names it (and the line) and the reason.

    Attributes:
        path: the file.
        reason: what is wrong and how to fix it.
        line: the 1-based line of the file where the problem is, when known.
    """

    def __init__(self, path: str | os.PathLike, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = str(path), reason, line
        super().__init__(f"{self.path}{'' if line is None else f', line {line}'}: {reason}")


def _open_bytes(path: str | os.PathLike) -> IO[bytes]:
    """The file's content as bytes, decompressed when it starts with the gzip magic."""
    handle = open(path, "rb")
    if handle.read(2) == _GZIP_MAGIC:
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def check_text(path: str | os.PathLike) -> None:
    """Refuse a file whose first bytes show it is not UTF-8 text: a UTF-16/32 byte-order mark, or NUL bytes.

    Raises:
        DataFileError: naming the encoding found, or the line of the first NUL byte.
        OSError, EOFError, zlib.error: the file cannot be read (``reads_file`` words these).
    """
    with _open_bytes(path) as handle:
        head = handle.read(SNIFF_BYTES)
    for bom, encoding in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                          (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):  # fmt: skip
        if head.startswith(bom):
            raise DataFileError(path, f"the file is {encoding} text; molssl reads UTF-8: convert it (e.g. iconv -f {encoding} -t UTF-8)")
    nul = head.find(b"\0")
    if nul >= 0:
        raise DataFileError(
            path,
            "not a text file: it holds NUL bytes (binary data, or UTF-16 text without a byte-order mark); "
            "molssl reads SMILES, CSV and TSV files as UTF-8 text, optionally gzip-compressed",
            line=head.count(b"\n", 0, nul) + 1,
        )


def _undecodable(path: str | os.PathLike) -> DataFileError:
    """The error for a file that is not UTF-8, at its first line that does not decode."""
    try:
        with _open_bytes(path) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return DataFileError(
                        path,
                        f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); molssl reads UTF-8: "
                        "save the file as UTF-8 (e.g. iconv -f latin1 -t UTF-8)",
                        line=number,
                    )
    except (OSError, EOFError, zlib.error):
        pass
    return DataFileError(path, "not UTF-8 text; molssl reads UTF-8: save the file as UTF-8 (e.g. iconv -f latin1 -t UTF-8)")


def describe_read_error(path: str | os.PathLike, exc: BaseException) -> DataFileError | None:
    """The ``DataFileError`` for ``exc`` raised while reading ``path``, or ``None`` when it is not a read failure."""
    import pandas as pd

    if isinstance(exc, DataFileError) or isinstance(exc, FileNotFoundError):
        return None
    if isinstance(exc, UnicodeDecodeError):
        return _undecodable(path)
    if isinstance(exc, EOFError):
        return DataFileError(path, f"the gzip data ends early ({exc}): the file is truncated; copy or download it again")
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return DataFileError(path, f"damaged gzip data ({exc}); copy or download the file again")
    if isinstance(exc, IsADirectoryError):
        return DataFileError(path, "is a directory, not a file")
    if isinstance(exc, PermissionError):
        return DataFileError(path, "permission denied: the file cannot be read (check its permissions)")
    if isinstance(exc, OSError):
        return DataFileError(path, f"cannot be read ({exc.strerror or exc})")
    if isinstance(exc, pd.errors.EmptyDataError):
        return DataFileError(path, "the file is empty: a CSV/TSV file needs a header line naming its columns")
    if isinstance(exc, pd.errors.ParserError):
        return DataFileError(path, f"malformed table ({exc})")
    return None


def reads_file(function: F) -> F:
    """Decorate a reader whose first argument is the file: read failures become a ``DataFileError`` naming it.

    An existing file is checked with ``check_text`` first, so UTF-16 and binary files are refused with
    that reason instead of failing later with a misleading one.
    """

    @functools.wraps(function)
    def reader(path, *args, **kwargs):
        try:
            if os.path.isfile(path):  # a missing file or a directory fails in the reader, as it would unwrapped
                check_text(path)
            return function(path, *args, **kwargs)
        except Exception as exc:
            error = describe_read_error(path, exc)
            if error is None:
                raise
            raise error from exc

    return reader  # type: ignore[return-value]


__all__ = ["DataFileError", "check_text", "describe_read_error", "reads_file"]
