"""The floor under a first audit: how long RDKit's bare per-molecule calls take over a whole corpus (issue 22).

The audit's keys (``molssl.audit.keys``) parse each SMILES, write its canonical SMILES, its Murcko scaffold
and an element-graph hash, and read statistics from the text. This script runs only the RDKit calls, level by
level, over every row of the corpus in the same worker processes and chunks the audit uses, keeping nothing:

- ``parse``: ``Chem.MolFromSmiles`` (the least any audit that checks validity does);
- ``parse+canonical``: and ``Chem.MolToSmiles`` (the least any audit that finds exact duplicates or
  overlap with downstream sets by canonical SMILES does);
- ``parse+canonical+scaffold``: and ``MurckoScaffold.MurckoScaffoldSmiles`` (the least that also counts test
  scaffolds in the corpus).

Set beside the cold audit (``benchmarks/audit_moses.py`` or ``molssl audit``), it says how much of that time
is RDKit's own work, which no arrangement of the keys can remove on the same cores.

Run:
    python benchmarks/get_moses.py          # once: benchmarks/_work/moses_train.csv.gz
    python benchmarks/audit_floor.py --workers 2
Appends one row to ``benchmarks/results/audit_floor.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.audit_moses import CORPUS, cpu_seconds  # noqa: E402
from benchmarks.record import RESULTS, command_line, environment  # noqa: E402

LEVELS: tuple[str, ...] = ("parse", "parse+canonical", "parse+canonical+scaffold")


def _chunk(task: tuple[str, list[str]]) -> int:
    """Run one level's RDKit calls on a chunk of SMILES; the number of molecules parsed."""
    from rdkit import Chem, rdBase
    from rdkit.Chem.Scaffolds import MurckoScaffold

    level, smiles = task
    canonical, scaffold = "canonical" in level, "scaffold" in level
    parsed = 0
    with rdBase.BlockLogs():
        for s in smiles:
            mol = Chem.MolFromSmiles(s)
            if mol is None:
                continue
            parsed += 1
            if canonical:
                Chem.MolToSmiles(mol)
            if scaffold and mol.GetRingInfo().NumRings():
                MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
    return parsed


def run_level(level: str, smiles: list[str], workers: int, chunk_rows: int) -> dict:
    """Wall and CPU seconds of one level over every row, in ``workers`` processes."""
    chunks = [(level, smiles[i:i + chunk_rows]) for i in range(0, len(smiles), chunk_rows)]
    cpu, start = cpu_seconds(), time.perf_counter()
    with multiprocessing.get_context().Pool(workers) as pool:
        parsed = sum(pool.imap(_chunk, chunks))
        pool.close()
        pool.join()
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return {"level": level, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "parsed": parsed,
            "cpu_us_per_row": round(1e6 * cpu / max(len(smiles), 1), 1)}


def main() -> None:
    from molssl.audit.keys import CHUNK_ROWS
    from molssl.data.corpus import read_smiles_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="SMILES/CSV file (default: the MOSES training set)")
    parser.add_argument("--workers", type=int, default=2, help="processes, as for `molssl audit --workers`")
    parser.add_argument("--levels", nargs="+", choices=LEVELS, default=list(LEVELS))
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"{args.corpus}: no such file (python benchmarks/get_moses.py fetches the MOSES training set)")
    if args.workers < 1:
        sys.exit(f"--workers must be >= 1, got {args.workers}")
    smiles = read_smiles_file(args.corpus).smiles
    load_before = os.getloadavg()[0]
    levels = []
    for level in args.levels:
        levels.append(run_level(level, smiles, args.workers, CHUNK_ROWS))
        print(json.dumps(levels[-1]), flush=True)
    row = {"suite": "audit_floor", "command": command_line(), "corpus": str(args.corpus.relative_to(ROOT)) if args.corpus.is_relative_to(ROOT) else str(args.corpus),
           "rows": len(smiles), "workers": args.workers, "levels": levels, "load_average_before": load_before,
           "load_average_after": os.getloadavg()[0], **environment()}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "audit_floor.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
