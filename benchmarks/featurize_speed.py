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
    python benchmarks/featurize_speed.py --n 2000 --repeats 3 --stages        # where a single call's time goes

``--stages`` times the single call cumulatively, stage by stage, as ``featurize`` runs them (RDKit's
parse alone; ``parse_plain``: text checks, size limits and silenced RDKit logs around the same parse;
then ``ToBinary``; then the record-cache lookup of the features; then the PyG ``Data``, which is the
whole call), against ``smiles2graph``, in blocks of 100 molecules interleaved over the contenders, on
this process's CPU time. Each stage's increment is its cost as it runs right after RDKit's parse
(caches and branch predictors cold), which is several times what the same code costs in a tight loop.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

from rdkit import Chem, rdBase

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import molssl  # noqa: E402
from benchmarks.record import append_rows, command_line  # noqa: E402

CORPUS = ROOT / "datasets" / "moses" / "moses_50k.smi.gz"


def load(n: int) -> list[str]:
    with gzip.open(CORPUS, "rt") as fh:
        lines = [line.strip() for line in fh]
    return lines[1 : n + 1]


def stages(smiles: list[str], repeats: int, no_record: bool) -> None:
    """The single call's CPU time stage by stage (cumulative), against smiles2graph; see the module docstring."""
    from ogb.utils import smiles2graph

    from molssl.chem.featurize import _parse_options, _record_cache
    from molssl.chem.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH
    from molssl.chem.mol_pickle import PICKLE_OPTIONS
    from molssl.chem.parse import parse_plain
    from molssl.graph.data import graph_data

    options = _parse_options("strict", DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH, "input")
    cache = _record_cache("hu")
    for s in smiles:  # fill the record cache: the stages time lookups, not learning
        molssl.featurize(s)

    def loop(step):
        return lambda block: [step(s) for s in block]

    contenders = {
        "rdkit MolFromSmiles (parse only)": loop(Chem.MolFromSmiles),
        "parse_plain (text checks, BlockLogs, parse)": loop(lambda s: parse_plain(s, options)),
        "+ ToBinary": loop(lambda s: parse_plain(s, options).ToBinary(PICKLE_OPTIONS)),
        "+ record-cache features": loop(lambda s: cache.features(parse_plain(s, options).ToBinary(PICKLE_OPTIONS))),
        "+ Data (the whole path)": loop(lambda s: graph_data(*cache.features(parse_plain(s, options).ToBinary(PICKLE_OPTIONS)), smiles=s)),
        "molssl featurize scheme=hu": loop(molssl.featurize),
        "ogb smiles2graph": loop(smiles2graph),
    }
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    blocks = [smiles[i : i + 100] for i in range(0, len(smiles), 100)]
    for _ in range(repeats):
        for block in blocks:
            for name, fn in contenders.items():
                c = time.process_time()
                fn(block)
                cpu[name].append((time.process_time() - c) / len(block) * 1e6)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    s2g = med["ogb smiles2graph"]
    print(f"{len(smiles)} MOSES molecules in blocks of 100, {repeats} interleaved repeats; median CPU us/mol; "
          f"3x smiles2graph needs <= {s2g / 3:.1f} us/mol")  # fmt: skip
    print(f"{'stage (cumulative)':46s} {'cpu us/mol':>10s} {'increment':>10s} {'vs parse':>9s} {'s2g / this':>11s}")
    rows, previous = [], None
    for name, us in med.items():
        step = "" if previous is None or name.startswith(("molssl", "ogb")) else f"{us - previous:10.1f}"
        print(f"{name:46s} {us:10.1f} {step:>10s} {us / med['rdkit MolFromSmiles (parse only)']:8.2f}x {s2g / us:10.2f}x")
        rows.append({"what": "featurize_single_stages", "contender": name, "molecules": len(smiles), "repeats": repeats,
                     "block": 100, "median_cpu_us_per_mol": round(us, 2),
                     "cpu_time_vs_parse_only": round(us / med["rdkit MolFromSmiles (parse only)"], 3),
                     "cpu_speedup_vs_smiles2graph": round(s2g / us, 3)})  # fmt: skip
        previous = us
    if not no_record:
        path = append_rows("featurize_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="molecules (default 5000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--parallel-n", type=int, default=50000, help="molecules for the parallel part (default 50000)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to results/")
    parser.add_argument("--single-only", action="store_true", help="skip the parallel part")
    parser.add_argument("--stages", action="store_true", help="only the stage-by-stage profile of the single call")
    args = parser.parse_args()
    if args.stages:
        stages(load(args.n), args.repeats, args.no_record)
        return

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
            path = append_rows("featurize_speed", rows, command_line())
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
        path = append_rows("featurize_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
