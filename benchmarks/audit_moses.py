"""Audit of the full MOSES training set (1,584,663 SMILES) against every embedded MoleculeNet set (issue 22).

Reports rows read, invalid rows, duplicates, statistics with outliers, and per downstream set how many of its
train/valid/test molecules (scaffold split) and test scaffolds occur in MOSES. Times it twice in one run:
cold (keys computed with ``--workers`` processes into an empty cache) and warm (the same audit again: keys
read from the cache by the file's digest), stage by stage (``AuditReport.timings``), with wall and CPU
seconds (this process and its workers). A profile of the per-molecule RDKit steps on a sample, measured in
the same run, says where the cold time goes.

The cold keys are computed in slices of 100,000 rows (``molecule_keys``, lazy InChIKeys), each saved under
``benchmarks/_work/audit_moses/<corpus>/slices/`` with its wall and CPU seconds, so an interrupted run
resumes; joined, they are put in the audit's cache, and the cold audit then fills the InChIKeys that can
repeat or match and compares (its stages are timed as such).

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
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, environment  # noqa: E402

CORPUS = ROOT / "benchmarks" / "_work" / "moses_train.csv.gz"
WORK = ROOT / "benchmarks" / "_work" / "audit_moses"
SLICE = 100_000


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished (joined) worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def profile(smiles: list[str], sample: int) -> dict[str, float]:
    """CPU microseconds per molecule of each RDKit step the keys take, and of the keys whole (one process, lazy
    InChIKeys), on the first ``sample`` rows."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from molssl.audit.keys import _chunk_keys, _graph_hash, atom_statistics

    rows = smiles[:sample]
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=2, bondInvariantsGenerator=rdFingerprintGenerator.GetMorganBondInvGen(useBondTypes=False))  # fmt: skip
    out = {}
    with rdBase.BlockLogs():
        start = time.process_time()
        mols = [Chem.MolFromSmiles(s) for s in rows]
        out["parse_and_sanitize"] = time.process_time() - start
        mols = [m for m in mols if m is not None]
        steps = {
            "canonical_smiles": lambda m: Chem.MolToSmiles(m),
            "inchikey": lambda m: Chem.MolToInchiKey(m),
            "murcko_scaffold": lambda m: MurckoScaffold.MurckoScaffoldSmiles(mol=m, includeChirality=False),
            "of_which_murcko_decompose": Chem.MurckoDecompose,  # a copy of the molecule, side chains cut
            "graph_hash": lambda m: _graph_hash(m, generator),
            "statistics_from_smiles": lambda m: (atom_statistics(Chem.MolToSmiles(m)), Chem.GetFormalCharge(m)),
        }
        for name, step in steps.items():
            start = time.process_time()
            for m in mols:
                step(m)
            out[name] = time.process_time() - start
    out["statistics_from_smiles"] -= out["canonical_smiles"]  # it canonicalizes again to have its input
    start = time.process_time()
    _chunk_keys((rows, False))  # all of a worker's keys, as the audit computes them (lazy InChIKeys)
    out["keys_whole_per_molecule"] = time.process_time() - start
    return {name: round(seconds / len(rows) * 1e6, 1) for name, seconds in out.items()}


def slice_keys(smiles: list[str], workers: int, work: Path) -> tuple:
    """Lazy keys of every slice, computed or read back; the summed wall and CPU seconds they took."""
    from molssl.audit.cache import load_keys, save_keys
    from molssl.audit.keys import MoleculeKeys, molecule_keys

    work.mkdir(parents=True, exist_ok=True)
    parts, wall, cpu = [], 0.0, 0.0
    for start in range(0, len(smiles), SLICE):
        path, record = work / f"keys-{start:07d}-{SLICE}.npz", work / f"keys-{start:07d}-{SLICE}.json"
        keys = load_keys(path) if path.exists() and record.exists() else None
        if keys is None:
            t0, c0 = time.perf_counter(), cpu_seconds()
            keys = molecule_keys(smiles[start:start + SLICE], workers=workers, all_inchikeys=False)
            save_keys(keys, path)
            record.write_text(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0, "workers": workers,
                                          "load": os.getloadavg()[0]}))  # fmt: skip
        took = json.loads(record.read_text())
        print(f"rows {start:,}-{start + len(keys):,}: {took['wall_s']:.0f} s wall, {took['cpu_s']:.0f} s CPU "
              f"(load {took['load']:.1f})", flush=True)
        parts.append(keys)
        wall, cpu = wall + took["wall_s"], cpu + took["cpu_s"]
    return MoleculeKeys.concatenate(parts), wall, cpu


def timed_audit(corpus: Path, against: list[str], workers: int, cache: Path) -> tuple:
    from molssl.audit import audit

    start, cpu = time.perf_counter(), cpu_seconds()
    report = audit(corpus, against, workers=workers, cache_dir=cache)
    return report, round(time.perf_counter() - start, 1), round(cpu_seconds() - cpu, 1)


def record_partial(args: argparse.Namespace, work: Path) -> None:
    """A row for a run stopped before its end: what the finished slices took, extrapolated to every row."""
    from molssl.audit.cache import load_keys
    from molssl.data.corpus import read_smiles_file

    smiles = read_smiles_file(args.corpus).smiles
    done = sorted((work / "slices").glob("keys-*.json"))
    records = [json.loads(path.read_text()) for path in done]
    rows = sum(len(load_keys(path.with_suffix(".npz"))) for path in done)
    if not rows:
        raise SystemExit(f"no finished slice under {work / 'slices'}")
    cpu = sum(r["cpu_s"] for r in records)
    row = {
        "suite": "audit_moses", "complete": False, "corpus": str(args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus),
        "command": "python benchmarks/audit_moses.py " + " ".join(sys.argv[1:]), "rows": len(smiles), "rows_keyed": rows,
        "slices": [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in records],
        "keys_cpu_s": round(cpu, 1), "keys_cpu_us_per_row": round(cpu / rows * 1e6, 1),
        "keys_cpu_s_extrapolated_to_all_rows": round(cpu / rows * len(smiles), 1),
        "profile_us_per_molecule": profile(smiles, args.profile_sample), "profile_sample": args.profile_sample,
        "load_average": os.getloadavg()[0], **environment(),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "audit_moses.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default: the full MOSES training set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile-sample", type=int, default=5000, help="rows the per-step profile times")
    parser.add_argument("--partial", action="store_true",
                        help="compute nothing more: record the slices finished so far, their CPU seconds per row, the "
                        "full corpus's keys extrapolated from them, and the per-step profile (a run that could not finish)")
    args = parser.parse_args()
    from molssl.audit.cache import keys_path, save_keys
    from molssl.data.corpus import read_smiles_file
    from molssl.files import file_sha256

    work = WORK / args.corpus.name.split(".")[0]
    if args.partial:
        return record_partial(args, work)
    cache = work / "keys_cache"
    shutil.rmtree(cache, ignore_errors=True)  # the cold audit finds only the sliced keys
    smiles = read_smiles_file(args.corpus).smiles
    load_before = os.getloadavg()[0]
    keys, keys_wall, keys_cpu = slice_keys(smiles, args.workers, work / "slices")
    save_keys(keys, keys_path(cache, file_sha256(args.corpus), None))
    against = sorted(path.stem for path in (ROOT / "datasets" / "moleculenet").glob("*.csv"))
    cold, cold_wall, cold_cpu = timed_audit(args.corpus, against, args.workers, cache)
    cold_wall, cold_cpu = round(cold_wall + keys_wall, 1), round(cold_cpu + keys_cpu, 1)
    warm, warm_wall, warm_cpu = timed_audit(args.corpus, against, args.workers, cache)
    per_step = profile(smiles, args.profile_sample)
    if warm.to_dict() | {"timings": None} != cold.to_dict() | {"timings": None}:
        raise SystemExit("the warm (cached) audit differs from the cold one")
    cold.write(work / "report")
    overlap = {o["dataset"]: {part: o["parts"][part] for part in ("train", "valid", "test")} | {"test_scaffolds": o["test_scaffolds"]}
               for o in cold.overlap}  # fmt: skip
    row = {
        "suite": "audit_moses", "corpus": str(args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus),
        "command": "python benchmarks/audit_moses.py " + " ".join(sys.argv[1:]), "against": against,
        "rows": cold.rows, "invalid": cold.invalid_count, "duplicates": cold.duplicates, "overlap": overlap,
        "inchikeys_computed": cold.statistics["inchikeys_computed"],
        "cold": {"wall_s": cold_wall, "cpu_s": cold_cpu, "keys_wall_s": round(keys_wall, 1), "keys_cpu_s": round(keys_cpu, 1),
                 "stages": cold.timings},
        "warm": {"wall_s": warm_wall, "cpu_s": warm_cpu, "stages": warm.timings},
        "profile_us_per_molecule": per_step, "profile_sample": args.profile_sample,
        "workers": args.workers, "load_average_before": load_before, "load_average_after": os.getloadavg()[0], **environment(),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "audit_moses.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k not in ("overlap", "duplicates")}, indent=1))
    print((work / "report" / "audit.md").read_text())


if __name__ == "__main__":
    main()
