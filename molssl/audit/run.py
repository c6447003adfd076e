"""``audit``: what a pretraining corpus holds and how much of the downstream sets it already contains.

Comparisons over the corpus are hash lookups on key columns (pandas ``isin``/``duplicated``), so after the
keys are computed (``molssl.audit.keys``, the costly, parallel step) a million-row corpus is compared with
every downstream set in seconds.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Callable, Sequence

import numpy as np

from molssl.audit.downstream import PARTS, DownstreamSet, load_downstream_sets
from molssl.audit.cache import keys_path, load_keys, save_keys
from molssl.audit.keys import MoleculeKeys, fill_inchikeys, molecule_keys
from molssl.audit.report import AuditReport

#: elements of ordinary organic, drug-like chemistry; a molecule with any other is flagged
ORGANIC_ELEMENTS: frozenset[str] = frozenset({"H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"})
#: identity levels: which key columns must match. ``exact``: the same canonical isomeric SMILES or full
#: InChIKey; ``stereo_insensitive``: also the same SMILES without stereo/isotopes or first InChIKey block
MATCH_LEVELS: dict[str, tuple[str, ...]] = {
    "exact": ("canonical", "inchikey"),
    "stereo_insensitive": ("canonical", "inchikey", "flat", "skeleton"),
}
_EXAMPLES = 10
# Tukey's "far out" fences on heavy-atom counts
_FENCE = 3.0


def audit(
    corpus: str | os.PathLike,
    against: Sequence[str] = (),
    smiles_column: str | None = None,
    split: str = "scaffold",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> AuditReport:
    """Audit a SMILES corpus file, optionally against downstream sets (MoleculeNet names or files).

    Args:
        corpus: a SMILES/CSV/TSV file, optionally gzipped (``molssl.data.corpus.read_smiles_file``).
        against: downstream sets: MoleculeNet names (``"bbbp"``) or CSV/SMILES files.
        smiles_column: the corpus's SMILES column, for CSV input.
        split: the registered splitter that defines each downstream set's train/valid/test parts.
        workers: processes computing the corpus's keys.
        progress: called with rows finished after each chunk of the corpus.
        cache_dir: keep the corpus's keys here, named by its digest (``molssl.audit.cache``), so auditing
            the same file again (against any sets) skips RDKit; None keeps nothing.

    Returns:
        The report (``AuditReport.write`` gives Markdown, JSON and a figure); ``timings`` says where the
        time went.
    """
    from molssl.data.corpus import read_smiles_file
    from molssl.files import file_sha256

    start = time.perf_counter()
    sha256 = file_sha256(corpus)
    smiles = read_smiles_file(corpus, smiles_column=smiles_column).smiles
    read_s = round(time.perf_counter() - start, 2)
    keys, timings = corpus_keys(smiles, sha256, smiles_column, workers, progress, cache_dir)
    report = audit_keys(smiles, keys, against, source=str(corpus), sha256=sha256, split=split, workers=workers,
                        cache_dir=cache_dir)
    if cache_dir is not None and report.timings.get("inchikeys_computed_now", 0):
        save_keys(report.keys, keys_path(cache_dir, sha256, smiles_column))  # the InChIKeys filled in too
    report.timings = {"read_s": read_s} | timings | report.timings | {"total_s": round(time.perf_counter() - start, 2)}
    return report


def corpus_keys(
    smiles: Sequence[str],
    sha256: str,
    smiles_column: str | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[MoleculeKeys, dict[str, float]]:
    """Keys of a corpus file's SMILES (InChIKeys lazily, see ``molecule_keys``), read from or saved to
    ``cache_dir`` under the file's ``sha256``; also the seconds it took and whether the cache held them."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    cached = keys_path(cache_dir, sha256, smiles_column) if cache_dir is not None else None
    keys = load_keys(cached) if cached is not None and cached.exists() else None
    if keys is not None and len(keys) != len(smiles):
        keys = None
    timings["keys_from_cache"] = keys is not None
    if keys is None:
        keys = molecule_keys(smiles, workers=workers, progress=progress, all_inchikeys=False)
        if cached is not None:
            save_keys(keys, cached)
    timings["keys_s"] = round(time.perf_counter() - start, 2)
    return keys, timings


def audit_keys(
    smiles: Sequence[str],
    keys: MoleculeKeys,
    against: Sequence[str | DownstreamSet] = (),
    source: str = "",
    sha256: str = "",
    split: str = "scaffold",
    workers: int = 1,
    cache_dir: str | os.PathLike | None = None,
) -> AuditReport:
    """The audit of a corpus whose keys are already computed (``molecule_keys(smiles)``).

    InChIKeys ``molecule_keys`` left out are filled in where they can repeat or match (``fill_inchikeys``);
    ``cache_dir`` keeps the downstream sets' keys by digest.
    """
    if len(keys) != len(smiles):
        raise ValueError(f"{len(keys)} key rows for {len(smiles)} SMILES")
    start = time.perf_counter()
    sets = load_downstream_sets(against, split, cache_dir, workers)
    timings: dict[str, float] = {"downstream_sets_s": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    before = int(keys.inchikey_done.sum())
    keys = fill_inchikeys(keys, [ds.keys.graph_hash[ds.part != ""] for ds in sets], workers=workers)
    timings |= {"inchikeys_s": round(time.perf_counter() - start, 2), "inchikeys_computed_now": int(keys.inchikey_done.sum()) - before}
    start = time.perf_counter()
    invalid = np.flatnonzero(~keys.valid)
    overlap, matches = zip(*(_overlap(keys, smiles, ds) for ds in sets)) if sets else ((), ())
    report = AuditReport(
        source=source,
        sha256=sha256,
        rows=len(smiles),
        invalid=[{"row": int(r), "smiles": smiles[r], "reason": str(keys.reason[r])} for r in invalid.tolist()],
        invalid_reasons=dict(Counter(keys.reason[invalid].tolist()).most_common()),
        duplicates=_duplicates(keys),
        statistics=_statistics(keys),
        outliers=_outliers(keys),
        overlap=list(overlap),
        matches=[m for per_set in matches for m in per_set],
        heavy_atoms={"corpus": keys.heavy_atoms[keys.valid]} | {ds.name: ds.keys.heavy_atoms[ds.keys.valid] for ds in sets},
        keys=keys,
    )
    report.timings = timings | {"compare_s": round(time.perf_counter() - start, 2)}
    return report


def _series(values: np.ndarray):  # noqa: ANN202 - pandas is imported lazily
    import pandas as pd

    return pd.Series(values, dtype=object)


def _duplicates(keys: MoleculeKeys) -> dict[str, dict]:
    """Per key column: rows repeating an earlier row's molecule, molecules seen more than once, examples."""
    valid = np.flatnonzero(keys.valid)
    out: dict[str, dict] = {}
    for column, meaning in (("canonical", "canonical isomeric SMILES"), ("inchikey", "InChIKey"),
                            ("flat", "SMILES without stereo"), ("skeleton", "InChIKey first block (no stereo)")):  # fmt: skip
        values = _series(getattr(keys, column)[valid])
        values = values[values != ""]
        repeated = values.duplicated(keep=False)
        groups = values[repeated].groupby(values[repeated], sort=False).groups
        examples = [valid[np.asarray(index)].tolist() for index in list(groups.values())[:_EXAMPLES]]
        out[column] = {"key": meaning, "duplicate_rows": int(values.duplicated().sum()), "molecules": len(groups),
                       "examples": examples}  # fmt: skip
    return out


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if not values.size:
        return {}
    points = {"min": 0, "p1": 1, "p5": 5, "median": 50, "p95": 95, "p99": 99, "max": 100}
    return {name: float(np.percentile(values, q)) for name, q in points.items()} | {"mean": float(values.mean())}


def _statistics(keys: MoleculeKeys) -> dict[str, object]:
    valid = keys.valid
    elements = Counter(e for joined in keys.elements[valid].tolist() for e in joined.split(",") if e)
    return {
        "valid_molecules": int(valid.sum()),
        "heavy_atoms": _quantiles(keys.heavy_atoms[valid]),
        "net_charge": {str(k): v for k, v in sorted(Counter(keys.net_charge[valid].tolist()).items())},
        "molecules_with_charged_atoms": int((keys.charged_atoms[valid] > 0).sum()),
        "fragments": {str(k): v for k, v in sorted(Counter(keys.fragments[valid].tolist()).items())},
        "elements": dict(elements.most_common()),  # molecules containing each element
        "acyclic_molecules": int((keys.scaffold[valid] == "").sum()),
        "distinct_scaffolds": int(_series(keys.scaffold[valid]).nunique()),
        # the others' element-labelled heavy-atom graph is unique here, so their InChIKey can match nothing
        "inchikeys_computed": int((valid & keys.inchikey_done).sum()),
    }


def _outliers(keys: MoleculeKeys) -> dict[str, dict]:
    """Flagged molecules per rule: the rule in words, the count, the first rows."""
    valid = keys.valid
    atoms = keys.heavy_atoms
    q1, q3 = np.percentile(atoms[valid], [25, 75]) if valid.any() else (0.0, 0.0)
    low, high = q1 - _FENCE * (q3 - q1), q3 + _FENCE * (q3 - q1)
    uncommon = np.array([bool(e) and not set(e.split(",")) <= ORGANIC_ELEMENTS for e in keys.elements.tolist()], dtype=bool)
    rules = {
        "size": (valid & ((atoms < low) | (atoms > high)),
                 f"heavy atoms outside Tukey's far-out fences [{low:g}, {high:g}] (quartiles +- 3 IQR)"),
        "net_charge": (valid & (keys.net_charge != 0), "net formal charge is not zero"),
        "multi_fragment": (valid & (keys.fragments > 1), "more than one fragment (salts, solvents, mixtures)"),
        "uncommon_element": (valid & uncommon, f"an element outside {', '.join(sorted(ORGANIC_ELEMENTS))}"),
    }  # fmt: skip
    return {name: {"rule": rule, "count": int(mask.sum()), "examples": np.flatnonzero(mask)[:_EXAMPLES].tolist()}
            for name, (mask, rule) in rules.items()}  # fmt: skip


def _overlap(keys: MoleculeKeys, smiles: Sequence[str], ds: DownstreamSet) -> tuple[dict, list[dict]]:
    """How much of one downstream set the corpus holds, per part; and every matching corpus row."""
    in_corpus: dict[str, np.ndarray] = {}  # key column -> which downstream rows the corpus holds by it
    levels_of_row: dict[int, dict[str, set[str]]] = {}  # corpus row -> downstream part -> match levels
    for column in MATCH_LEVELS["stereo_insensitive"]:
        ds_values = getattr(ds.keys, column)
        parts_of_key: dict[str, set[str]] = {}
        for value, part in zip(ds_values.tolist(), ds.part.tolist()):
            if value and part:
                parts_of_key.setdefault(value, set()).add(part)
        corpus_values = _series(getattr(keys, column))
        hit_rows = np.flatnonzero(corpus_values.isin(parts_of_key.keys()).to_numpy())
        hit_keys = set(corpus_values.iloc[hit_rows].tolist())
        in_corpus[column] = np.array([bool(part) and v in hit_keys for v, part in zip(ds_values.tolist(), ds.part.tolist())], bool)
        level = "exact" if column in MATCH_LEVELS["exact"] else "stereo_insensitive"
        for r in hit_rows.tolist():  # a key shared by several downstream rows: all their parts
            for part in parts_of_key[corpus_values.iat[r]]:
                levels_of_row.setdefault(r, {}).setdefault(part, set()).add(level)
    found = {"exact_smiles": in_corpus["canonical"], "inchikey": in_corpus["inchikey"]}
    found |= {level: np.logical_or.reduce([in_corpus[c] for c in columns]) for level, columns in MATCH_LEVELS.items()}
    parts = {part: {"molecules": int((ds.part == part).sum())} | {name: int((hit & (ds.part == part)).sum()) for name, hit in found.items()}
             for part in PARTS}  # fmt: skip
    test_scaffolds = {s for s in ds.keys.scaffold[ds.part == "test"].tolist() if s}
    scaffold_hits = _series(keys.scaffold).isin(test_scaffolds).to_numpy()
    matches = [
        {"row": r, "smiles": smiles[r], "dataset": ds.name, "part": part, "match": "exact" if "exact" in levels else "stereo_insensitive"}
        for r, by_part in sorted(levels_of_row.items()) for part, levels in sorted(by_part.items(), key=lambda kv: PARTS.index(kv[0]))
    ]  # fmt: skip
    summary = {
        "dataset": ds.name, "source": ds.source, "sha256": ds.sha256, "split": ds.split,
        "invalid_rows": int((~ds.keys.valid).sum()), "parts": parts,
        "test_scaffolds": {"distinct": len(test_scaffolds), "in_corpus": len(set(keys.scaffold[scaffold_hits].tolist())),
                           "corpus_rows": int(scaffold_hits.sum())},
        "corpus_rows_matching": len(levels_of_row),
    }  # fmt: skip
    return summary, matches


def test_scaffold_rows(keys: MoleculeKeys, sets: Sequence[DownstreamSet]) -> dict[int, list[str]]:
    """Corpus rows whose scaffold is a test scaffold of a set -> the sets' names (for decontamination)."""
    out: dict[int, list[str]] = {}
    corpus = _series(keys.scaffold)
    for ds in sets:
        wanted = {s for s in ds.keys.scaffold[ds.part == "test"].tolist() if s}
        for r in np.flatnonzero(corpus.isin(wanted).to_numpy()).tolist():
            out.setdefault(r, []).append(ds.name)
    return out
