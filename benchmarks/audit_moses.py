"""Audit of the full MOSES training set (1,584,663 SMILES) against every embedded MoleculeNet set (issue 22).

Reports rows read, invalid rows, duplicates, statistics with outliers, and per downstream set how many of its
train/valid/test molecules (scaffold split) and test scaffolds occur in MOSES; times the key computation
(the costly part: one RDKit parse, two canonical SMILES, an InChIKey and a scaffold per molecule) with its
worker count and the machine, and the comparison phase separately.

Resumable: keys are computed in slices of 20,000 rows cached under ``benchmarks/_work/audit_moses/<corpus>/``
with the wall and CPU seconds each took, so an interrupted run continues where it stopped (``--limit`` stops
a run early on purpose).

Run:
    python benchmarks/get_moses.py            # once: benchmarks/_work/moses_train.csv.gz
    python benchmarks/audit_moses.py --workers 2
    python benchmarks/audit_moses.py --corpus datasets/moses/moses_50k.smi.gz   # the transfer benchmarks' corpus
Writes ``benchmarks/_work/audit_moses/<corpus>/report/`` (audit.md, audit.json, audit.png) and appends a row
to ``benchmarks/results/audit_moses.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, environment  # noqa: E402

CORPUS = ROOT / "benchmarks" / "_work" / "moses_train.csv.gz"
WORK = ROOT / "benchmarks" / "_work" / "audit_moses"
SLICE = 20_000


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def slice_keys(smiles: list[str], workers: int, limit: int | None, work: Path):
    """Keys of every slice, computed or read from the cache; also the summed wall and CPU seconds."""
    from molssl.audit.keys import MoleculeKeys, molecule_keys

    work.mkdir(parents=True, exist_ok=True)
    parts, wall, cpu = [], 0.0, 0.0
    for start in range(0, len(smiles), SLICE):
        cached = work / f"keys-{start:07d}-{SLICE}.pkl"
        if cached.exists():
            record = pickle.loads(cached.read_bytes())
        else:
            if limit is not None and start >= limit:
                break
            t0, c0 = time.perf_counter(), cpu_seconds()
            keys = molecule_keys(smiles[start:start + SLICE], workers=workers)
            record = {"keys": keys, "wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0, "workers": workers,
                      "load": os.getloadavg()[0]}
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(record))
            tmp.replace(cached)
            print(f"rows {start:,}-{start + len(keys):,}: {record['wall_s']:.0f} s wall, {record['cpu_s']:.0f} s CPU "
                  f"(load {record['load']:.1f})", flush=True)
        parts.append(record["keys"])
        wall += record["wall_s"]
        cpu += record["cpu_s"]
    return MoleculeKeys.concatenate(parts), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default: the full MOSES training set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="compute at most up to this row this run (resume later)")
    args = parser.parse_args()
    from molssl.data.corpus import read_smiles_file
    from molssl.files import file_sha256

    corpus = read_smiles_file(args.corpus)
    work = WORK / args.corpus.name.split(".")[0]
    keys, keys_wall, keys_cpu = slice_keys(corpus.smiles, args.workers, args.limit, work)
    if len(keys) < len(corpus.smiles):
        print(f"{len(keys):,} of {len(corpus.smiles):,} rows done; run again to continue")
        return
    from molssl.audit.run import audit_keys

    against = sorted(path.stem for path in (ROOT / "datasets" / "moleculenet").glob("*.csv"))
    t0, c0 = time.perf_counter(), cpu_seconds()
    report = audit_keys(corpus.smiles, keys, against=against, source=str(args.corpus), sha256=file_sha256(args.corpus))
    compare_wall, compare_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    report.write(work / "report")
    overlap = {o["dataset"]: {part: o["parts"][part] for part in ("train", "valid", "test")} | {"test_scaffolds": o["test_scaffolds"]}
               for o in report.overlap}
    row = {
        "suite": "audit_moses", "corpus": str(args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus), "command": "python benchmarks/audit_moses.py " + " ".join(sys.argv[1:]),
        "rows": report.rows, "invalid": report.invalid_count, "duplicates": report.duplicates, "overlap": overlap,
        "keys_wall_s": round(keys_wall, 1), "keys_cpu_s": round(keys_cpu, 1), "compare_wall_s": round(compare_wall, 1),
        "compare_cpu_s": round(compare_cpu, 1), "workers": args.workers, "load_average": os.getloadavg()[0], **environment(),
    }
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "audit_moses.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "overlap"}, indent=1))
    print((work / "report" / "audit.md").read_text())


if __name__ == "__main__":
    main()
