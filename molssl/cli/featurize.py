"""``molssl featurize``: featurize a SMILES file into the on-disk molecule store and summarize it."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("featurize", help="featurize a SMILES file into a molecule store (cached on disk)")
    p.add_argument("input", nargs="?", type=Path, help="SMILES/CSV/TSV file, optionally .gz (default: the embedded 50k MOSES sample)")
    p.add_argument("--scheme", default="hu", help="featurization scheme: hu or ogb (default hu)")
    p.add_argument("--smiles-column", default=None, help="SMILES column of a CSV/TSV (detected when omitted)")
    p.add_argument("--cache-dir", type=Path, default=None, help="where stores live (default $MOLSSL_CACHE or ~/.cache/molssl)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="featurization processes (default: all cores)")
    p.add_argument("--on-error", choices=("skip", "raise"), default="skip", help="skip and report bad rows, or stop at the first")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if a store for this file and scheme exists")
    p.add_argument("--show-skipped", type=int, default=20, metavar="N", help="print at most N skipped rows (default 20; all are in skipped.jsonl)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from molssl.data.embedded import default_corpus
    from molssl.data.store_build import build_store

    source = args.input or default_corpus()
    bar = None if args.no_progress else tqdm(desc=f"featurize {source.name}", unit="mol", unit_scale=True)
    start = time.perf_counter()
    try:
        store = build_store(
            source, scheme=args.scheme, cache_dir=args.cache_dir, smiles_column=args.smiles_column,
            workers=args.workers, on_error=args.on_error, rebuild=args.rebuild,
            progress=None if bar is None else bar.update,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    counts = store.meta["counts"]
    atoms = store.graphs.num_atoms
    summary = {
        "source": str(source),
        "store": str(store.path),
        "scheme": f"{store.spec.name} v{store.spec.version}",
        "rows": store.meta["source"].get("rows"),
        "molecules": counts["molecules"],
        "skipped": counts["skipped"],
        "atoms": counts["atoms"],
        "edges": counts["edges"],
        "atoms_per_molecule": {"mean": round(float(atoms.mean()), 2), "min": int(atoms.min()), "max": int(atoms.max())} if len(atoms) else None,
        "seconds": round(seconds, 2),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>18}: {value}")
        skipped = store.skipped()
        for row in skipped[: args.show_skipped]:
            print(f"  skipped row {row.index}: {row.smiles!r}: {row.reason}")
        if len(skipped) > args.show_skipped:
            print(f"  ... {len(skipped) - args.show_skipped} more in {store.path / 'skipped.jsonl'}")
    return 0
