"""``molssl audit``: audit a pretraining corpus, optionally against downstream sets, and decontaminate it."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit a SMILES corpus: invalid rows, duplicates, statistics, overlap with downstream sets")
    p.add_argument("corpus", type=Path, help="SMILES/CSV/TSV file, optionally .gz")
    p.add_argument("--against", nargs="+", default=[], metavar="DATASET_OR_CSV",
                   help="downstream sets: MoleculeNet names (bbbp, bace, esol, ...) or CSV/SMILES files")
    p.add_argument("--smiles-column", default=None)
    p.add_argument("--split", default="scaffold", help="splitter defining each set's train/valid/test (default scaffold)")
    p.add_argument("--out", type=Path, default=None, help="report folder (audit.md, audit.json, audit.png; default CORPUS.audit/)")
    p.add_argument("--decontaminate", type=Path, default=None, metavar="OUT",
                   help="also write the corpus without the sets' molecules to OUT (.smi or .csv, optionally .gz), "
                   "with OUT.removed.csv (every removed row and why) and OUT.provenance.json")
    p.add_argument("--match", choices=("exact", "stereo_insensitive"), default="stereo_insensitive",
                   help="what counts as the same molecule when decontaminating (default stereo_insensitive)")
    p.add_argument("--parts", nargs="+", choices=("train", "valid", "test"), default=["train", "valid", "test"],
                   help="which parts of each set to remove (default all)")
    p.add_argument("--scaffolds", action="store_true", help="also remove corpus rows carrying a test scaffold of a set")
    p.add_argument("--workers", type=int, default=1, help="processes computing the corpus's keys")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="where the corpus's keys are kept by file digest, so a repeated audit skips RDKit "
                   "(default $MOLSSL_CACHE/audit or ~/.cache/molssl/audit)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor keep the corpus's keys")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.audit import audit, decontaminate
    from molssl.data.store_build import default_cache_dir

    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir() / "audit")
    if args.decontaminate is not None:
        if not args.against:
            raise ValueError("--decontaminate needs --against: the downstream sets whose molecules to remove")
        done = decontaminate(args.corpus, args.against, args.decontaminate, match=args.match, parts=args.parts,
                             scaffolds=args.scaffolds, smiles_column=args.smiles_column, split=args.split, workers=args.workers, cache_dir=cache_dir)  # fmt: skip
        report = done.report
    else:
        report = audit(args.corpus, args.against, smiles_column=args.smiles_column, split=args.split, workers=args.workers,
                       cache_dir=cache_dir)
    out = args.out or args.corpus.with_name(args.corpus.name + ".audit")
    paths = report.write(out)
    dup = report.duplicates["canonical"]
    print(f"{report.rows:,} rows, {report.invalid_count:,} invalid, {dup['duplicate_rows']:,} exact duplicate rows")
    for o in report.overlap:
        test = o["parts"]["test"]
        print(f"{o['dataset']}: {test['exact']} of {test['molecules']} test molecules in the corpus exactly, "
              f"{test['stereo_insensitive']} ignoring stereo; {o['corpus_rows_matching']:,} corpus rows match the set")
    if args.decontaminate is not None:
        print(f"decontaminated: kept {done.rows_kept:,}, removed {done.rows_removed:,} -> {done.corpus} "
              f"(why: {done.removed_file.name}; provenance: {done.provenance_file.name})")
    keys = "from the cache" if report.timings.get("keys_from_cache") else f"computed in {report.timings.get('keys_s', 0):.1f} s"
    print(f"report: {paths['markdown']} (keys {keys})")
    return 0
