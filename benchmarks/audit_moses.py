"""Audit of the full MOSES training set (1,584,663 SMILES) against every embedded MoleculeNet set (issue 22).

Reports rows read, invalid rows, duplicates, statistics with outliers, and per downstream set how many of its
train/valid/test molecules (scaffold split) and test scaffolds occur in MOSES. Times it twice in one run:
cold (keys computed with ``--workers`` processes into an empty cache) and warm (the same audit again: keys
read from the cache by the file's digest), stage by stage (``AuditReport.timings``), with wall and CPU
seconds (this process and its workers). A profile of the per-molecule RDKit steps on a sample, measured in
the same run, says where the cold time goes.

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


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished (joined) worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def profile(smiles: list[str], sample: int) -> dict[str, float]:
    """CPU microseconds per molecule of each RDKit step the keys take, on the first ``sample`` rows."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from molssl.audit.keys import _graph_hash, atom_statistics

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
            "graph_hash": lambda m: _graph_hash(m, generator),
            "statistics_from_smiles": lambda m: (atom_statistics(Chem.MolToSmiles(m)), Chem.GetFormalCharge(m)),
        }
        for name, step in steps.items():
            start = time.process_time()
            for m in mols:
                step(m)
            out[name] = time.process_time() - start
    out["statistics_from_smiles"] -= out["canonical_smiles"]  # it canonicalizes again to have its input
    return {name: round(seconds / len(rows) * 1e6, 1) for name, seconds in out.items()}


def timed_audit(corpus: Path, against: list[str], workers: int, cache: Path) -> tuple:
    from molssl.audit import audit

    start, cpu = time.perf_counter(), cpu_seconds()
    report = audit(corpus, against, workers=workers, cache_dir=cache)
    return report, round(time.perf_counter() - start, 1), round(cpu_seconds() - cpu, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default: the full MOSES training set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile-sample", type=int, default=5000, help="rows the per-step profile times")
    args = parser.parse_args()
    from molssl.data.corpus import read_smiles_file

    work = WORK / args.corpus.name.split(".")[0]
    cache = work / "keys_cache"
    shutil.rmtree(cache, ignore_errors=True)  # the cold run starts from nothing
    against = sorted(path.stem for path in (ROOT / "datasets" / "moleculenet").glob("*.csv"))
    load_before = os.getloadavg()[0]
    cold, cold_wall, cold_cpu = timed_audit(args.corpus, against, args.workers, cache)
    warm, warm_wall, warm_cpu = timed_audit(args.corpus, against, args.workers, cache)
    per_step = profile(read_smiles_file(args.corpus).smiles, args.profile_sample)
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
        "cold": {"wall_s": cold_wall, "cpu_s": cold_cpu, "stages": cold.timings},
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
