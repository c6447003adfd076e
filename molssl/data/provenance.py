"""Provenance records of derived corpora: a JSON file beside the corpus, saying how it was made.

A corpus written by a tool (``molssl audit --decontaminate``) gets ``<corpus>.provenance.json``: what it was
made from (files and sha256), how, and the corpus's own sha256. ``build_store`` copies the record into the
store's ``meta.json`` when the corpus still has that sha256, so the store says what its data went through.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

SUFFIX = ".provenance.json"


def provenance_path(corpus: str | os.PathLike) -> Path:
    """Where the provenance record of ``corpus`` lives."""
    corpus = Path(corpus)
    return corpus.with_name(corpus.name + SUFFIX)


def write_provenance(corpus: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write ``record`` (plus the corpus's sha256 and the molssl version) beside ``corpus``; returns its path."""
    from molssl import __version__
    from molssl.files import file_sha256, write_text_atomic

    path = provenance_path(corpus)
    document = {**record, "output": {"path": Path(corpus).name, "sha256": file_sha256(corpus)}, "molssl_version": __version__}
    write_text_atomic(path, json.dumps(document, indent=1))
    return path


def read_provenance(corpus: str | os.PathLike, digest: str | None = None) -> dict[str, Any] | None:
    """The provenance record of ``corpus``, or None when it has none or the corpus changed since it was written.

    Args:
        digest: the corpus's sha256 when the caller has it already (saves reading the file again).
    """
    path = provenance_path(corpus)
    if not path.is_file():
        return None
    from molssl.files import file_sha256

    try:
        record = json.loads(path.read_text())
        recorded = record["output"]["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        warnings.warn(f"{path}: not a provenance record ({error}); ignored", stacklevel=2)
        return None
    if recorded != (digest or file_sha256(corpus)):
        warnings.warn(f"{path}: records sha256 {recorded[:16]}... but {corpus} has changed since; ignored", stacklevel=2)
        return None
    return record
