"""``molssl split``: split a SMILES file with any registered splitter into an index file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("split", help="split a labeled or unlabeled SMILES file into train/valid/test indices")
    p.add_argument("input", type=Path, help="SMILES/CSV/TSV file, optionally .gz")
    p.add_argument("--method", default="scaffold",
                   help="scaffold (default), random_scaffold, random, stratified, size, scaffold_cluster, property_range or low_data")
    p.add_argument("--fractions", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VALID", "TEST"))
    p.add_argument("--seed", type=int, default=0, help="seed of the random methods (low_data: the draw)")
    p.add_argument("--smiles-column", default=None)
    p.add_argument("--label-column", action="append", default=None,
                   help="label column(s), for stratified, property_range and low_data (repeat for several tasks)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a splitter option, e.g. k=64 (low_data), threshold=0.5 (scaffold_cluster), tail=lower (property_range)")
    p.add_argument("--out", type=Path, required=True, help="JSON file for the split (row numbers of the input file)")
    p.set_defaults(run=run)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> options; values read as JSON where they parse (numbers, true/false), else text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {pair!r}: expected KEY=VALUE, e.g. k=64")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from molssl.data.corpus import read_smiles_file
    from molssl.data.splits_registry import get_splitter

    splitter = get_splitter(args.method)
    fracs = dict(zip(("frac_train", "frac_valid", "frac_test"), args.fractions))
    options = parse_options(args.option)
    if args.label_column:
        from molssl.data.labeled import read_labeled_csv

        table = read_labeled_csv(args.input, smiles_column=args.smiles_column, target_columns=args.label_column)
        smiles, labels, rows = table.smiles, table.labels, np.asarray(table.rows)
    else:
        corpus = read_smiles_file(args.input, smiles_column=args.smiles_column)
        smiles, labels, rows = corpus.smiles, None, np.asarray(corpus.rows)
    split = splitter(smiles, labels, seed=args.seed, **fracs, **options)
    out = {name: rows[getattr(split, name)].tolist() for name in ("train", "valid", "test")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"method": args.method, "options": options, "fractions": list(args.fractions), "seed": args.seed, "source": str(args.input)}
    args.out.write_text(json.dumps({**record, **out}))
    print(f"{args.method} split of {args.input.name}: train {len(out['train'])}, valid {len(out['valid'])}, test {len(out['test'])} -> {args.out}")
    return 0
