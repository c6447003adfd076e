"""Featurization throughput: molssl vs ``ogb.utils.smiles2graph`` vs bare ``Chem.MolFromSmiles``.

All contenders run on the same molecules in the same process, interleaved over several repeats; we
report the median time per molecule and ratios against smiles2graph and against bare parsing, on the
wall clock and on this process's CPU time (which other processes on a shared machine disturb less).
``molssl featurize`` is the single call (one SMILES -> ``Data``, as a custom Dataset calls it); its
per-record cache fills on the first molecules of the first repeat, which the median includes. A
second part times the parallel file path (all cores) against the single-process path.

Run:
    python benchmarks/featurize_speed.py                 # 5,000 molecules from the embedded MOSES sample
    python benchmarks/featurize_speed.py --n 20000 --repeats 5
    python benchmarks/featurize_speed.py --n 2000 --repeats 7 --single-only   # no parallel part
"""

from __future__ import annotations

import argparse
import gzip
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

from rdkit import Chem, rdBase

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import molssl  # noqa: E402
from benchmarks.record import append_rows  # noqa: E402

CORPUS = ROOT / "datasets" / "moses" / "moses_50k.smi.gz"


def load(n: int) -> list[str]:
    with gzip.open(CORPUS, "rt") as fh:
        lines = [line.strip() for line in fh]
    return lines[1 : n + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="molecules (default 5000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--parallel-n", type=int, default=50000, help="molecules for the parallel part (default 50000)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to results/")
    parser.add_argument("--single-only", action="store_true", help="skip the parallel part")
    args = parser.parse_args()

    from ogb.utils import smiles2graph

    all_smiles = load(max(args.n, args.parallel_n))
    smiles = all_smiles[: args.n]

    def bare_parse():
        with rdBase.BlockLogs():
            for s in smiles:
                Chem.MolFromSmiles(s)

    def ogb_loop():
        for s in smiles:
            smiles2graph(s)

    def single_calls(scheme: str):
        return lambda: [molssl.featurize(s, scheme=scheme) for s in smiles]

    contenders = {
        "rdkit MolFromSmiles (parse only)": bare_parse,
        "ogb smiles2graph": ogb_loop,
        "molssl featurize_many scheme=ogb": lambda: molssl.featurize_many(smiles, scheme="ogb"),
        "molssl featurize_many scheme=hu": lambda: molssl.featurize_many(smiles, scheme="hu"),
        "molssl featurize (one call per molecule) scheme=ogb": single_calls("ogb"),
        "molssl featurize (one call per molecule) scheme=hu": single_calls("hu"),
    }
    wall: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append((time.perf_counter() - t) / len(smiles) * 1e6)
            cpu[name].append((time.process_time() - c) / len(smiles) * 1e6)

    rows = []
    print(f"{len(smiles)} MOSES molecules, {args.repeats} interleaved repeats, single process; median us/mol "
          f"(wall clock, and this process's CPU time); ratios of medians")  # fmt: skip
    print(f"{'contender':52s} {'us/mol':>8s} {'vs smiles2graph':>16s} {'vs parse-only':>14s} {'cpu us/mol':>11s} {'cpu vs s2g':>11s}")
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    for name, us in med.items():
        speedup = med["ogb smiles2graph"] / us
        vs_parse = us / med["rdkit MolFromSmiles (parse only)"]
        speedup_cpu = med_cpu["ogb smiles2graph"] / med_cpu[name]
        print(f"{name:52s} {us:8.1f} {speedup:15.2f}x {vs_parse:13.2f}x {med_cpu[name]:11.1f} {speedup_cpu:10.2f}x")
        rows.append({"what": "featurize", "contender": name, "molecules": len(smiles), "repeats": args.repeats,
                     "median_us_per_mol": round(us, 2), "all_us_per_mol": [round(t, 2) for t in wall[name]],
                     "speedup_vs_smiles2graph": round(speedup, 3), "time_vs_parse_only": round(vs_parse, 3),
                     "median_cpu_us_per_mol": round(med_cpu[name], 2),
                     "cpu_speedup_vs_smiles2graph": round(speedup_cpu, 3),
                     "cpu_time_vs_parse_only": round(med_cpu[name] / med_cpu["rdkit MolFromSmiles (parse only)"], 3)})  # fmt: skip
    if args.single_only:
        if not args.no_record:
            path = append_rows("featurize_speed", rows, "python " + " ".join(shlex.quote(a) for a in sys.argv))
            print(f"recorded in {path.relative_to(ROOT)}")
        return

    # parallel path: one process vs all cores on the same list (what build_store uses for files)
    big = all_smiles[: args.parallel_n]
    par: dict[int, list[float]] = {1: [], args.workers: []}
    for _ in range(max(1, args.repeats // 2)):
        for w in par:
            t = time.perf_counter()
            molssl.featurize_many(big, scheme="ogb", workers=w)
            par[w].append(len(big) / (time.perf_counter() - t))
    one, many = statistics.median(par[1]), statistics.median(par[args.workers])
    print(f"parallel scheme=ogb: 1 worker {one:.0f} mol/s, {args.workers} workers {many:.0f} mol/s ({many / one:.2f}x)")
    rows.append({"what": "featurize_parallel", "scheme": "ogb", "molecules": len(big), "workers": args.workers,
                 "median_mol_per_s_1_worker": round(one), "median_mol_per_s_all_workers": round(many),
                 "parallel_speedup": round(many / one, 3)})  # fmt: skip
    if not args.no_record:
        path = append_rows("featurize_speed", rows, "python " + " ".join(shlex.quote(a) for a in sys.argv))
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
