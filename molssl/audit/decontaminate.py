"""Decontamination: the corpus without the downstream sets' molecules, with a record of every removed row.

Writes three files: the corpus (``OUT``), every removed row with its reasons (``OUT`` + ``.removed.csv``)
and the provenance record (``OUT`` + ``.provenance.json``: the source and downstream files with their sha256,
the match level, counts, and the output's own sha256). ``molssl.data.store_build.build_store`` copies a corpus's
provenance record into the store's ``meta.json`` (``source.provenance``), so a store built from a
decontaminated corpus says so.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from molssl.audit.downstream import PARTS, DownstreamSet, load_downstream_sets
from molssl.audit.report import AuditReport
from molssl.audit.run import MATCH_LEVELS, audit_keys, corpus_keys, test_scaffold_rows

REMOVED_SUFFIX = ".removed.csv"


@dataclass(frozen=True)
class Decontamination:
    """What :func:`decontaminate` wrote: the files, rows kept and removed, and the audit it acted on."""

    corpus: Path
    removed_file: Path
    provenance_file: Path
    rows_kept: int
    rows_removed: int
    report: AuditReport


def decontaminate(
    corpus: str | os.PathLike,
    against: Sequence[str | DownstreamSet],
    out: str | os.PathLike,
    match: str = "stereo_insensitive",
    parts: Sequence[str] = PARTS,
    scaffolds: bool = False,
    smiles_column: str | None = None,
    split: str = "scaffold",
    workers: int = 1,
    cache_dir: str | os.PathLike | None = None,
) -> Decontamination:
    """Write ``corpus`` without the rows that hold a molecule of the downstream sets.

    Args:
        corpus: the SMILES/CSV/TSV corpus file.
        against: downstream sets (MoleculeNet names or files, or sets already loaded by ``load_downstream``).
        out: the decontaminated corpus: ``.smi``/``.txt`` (a ``SMILES`` header, one per line) or ``.csv``
            (``smiles`` and ``source_row`` columns), optionally ``.gz``.
        match: ``"exact"`` (canonical isomeric SMILES or InChIKey) or ``"stereo_insensitive"`` (also
            without stereo/isotopes; removes a superset).
        parts: which parts of each set's split to remove (default all: another split would put any of them
            in test).
        scaffolds: also remove corpus rows whose Murcko scaffold is a test scaffold of a set.
        split: the registered splitter defining the parts.
        workers: processes computing the corpus's keys.
        cache_dir: where the corpus's keys are kept by digest (as ``audit`` keeps them); None keeps nothing.

    Invalid rows are kept (the featurizer reports them with their reasons); nothing else is dropped.

    Raises:
        ValueError: an unknown ``match`` or part, or ``out`` the same file as ``corpus``.
    """
    from molssl.data.corpus import read_smiles_file
    from molssl.data.provenance import write_provenance
    from molssl.files import file_sha256

    if match not in MATCH_LEVELS:
        raise ValueError(f"unknown match {match!r}; valid: {', '.join(MATCH_LEVELS)}")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown part(s) {unknown}; valid parts: {', '.join(PARTS)}")
    out = Path(out)
    if out.exists() and out.resolve() == Path(corpus).resolve():
        raise ValueError(f"{out}: the decontaminated corpus must not overwrite its source")
    table = read_smiles_file(corpus, smiles_column=smiles_column)
    sha256 = file_sha256(corpus)
    keys, timings = corpus_keys(table.smiles, sha256, smiles_column, workers=workers, cache_dir=cache_dir)
    sets = load_downstream_sets(against, split, cache_dir, workers)
    report = audit_keys(table.smiles, keys, sets, source=str(corpus), sha256=sha256, split=split, workers=workers)
    report.timings = timings | report.timings
    levels = {"exact"} if match == "exact" else {"exact", "stereo_insensitive"}
    reasons: dict[int, list[str]] = {}
    for m in report.matches:
        if m["part"] in parts and m["match"] in levels:
            reasons.setdefault(m["row"], []).append(f"{m['dataset']}:{m['part']}:{m['match']}")
    if scaffolds:
        for row, names in test_scaffold_rows(keys, sets).items():
            reasons.setdefault(row, []).extend(f"{name}:test_scaffold" for name in names)
    removed_file = out.with_name(out.name + REMOVED_SUFFIX)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = [r for r in range(len(table.smiles)) if r not in reasons]
    _write_corpus(out, [table.smiles[r] for r in kept], [int(table.rows[r]) for r in kept])
    _write_removed(removed_file, [(int(table.rows[r]), table.smiles[r], "; ".join(reasons[r])) for r in sorted(reasons)])
    record = {
        "kind": "decontaminated corpus", "source": {"path": str(Path(corpus).resolve()), "sha256": report.sha256, "rows": len(table.smiles)},
        "against": [{"name": ds.name, "path": ds.source, "sha256": ds.sha256, "split": ds.split} for ds in sets],
        "match": match, "parts": list(parts), "scaffolds": scaffolds, "rows_kept": len(kept), "rows_removed": len(reasons),
        "removed_file": removed_file.name, "removed_sha256": file_sha256(removed_file),
    }  # fmt: skip
    provenance_file = write_provenance(out, record)
    return Decontamination(out, removed_file, provenance_file, len(kept), len(reasons), report)


def _open_text(path: Path, compressed: bool):  # noqa: ANN202 - a text file object for writing
    return gzip.open(path, "wt", encoding="utf-8", newline="") if compressed else open(path, "w", encoding="utf-8", newline="")


def _write_corpus(path: Path, smiles: list[str], rows: list[int]) -> None:
    from molssl.data.corpus import table_format

    fmt = table_format(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with _open_text(tmp, path.suffix == ".gz") as fh:
        if fmt == "smi":
            fh.write("SMILES\n" + "".join(f"{s}\n" for s in smiles))
        elif fmt == "csv":
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["smiles", "source_row"])
            writer.writerows(zip(smiles, rows))
        else:
            raise ValueError(f"{path}: write the decontaminated corpus as .smi or .csv (optionally .gz), not {fmt}")
    os.replace(tmp, path)


def _write_removed(path: Path, removed: list[tuple[int, str, str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["source_row", "smiles", "reasons"])
        writer.writerows(removed)
    os.replace(tmp, path)
