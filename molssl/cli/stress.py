"""``molssl stress``: how a trained predictor's outputs move when its input molecules are rewritten."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stress", help="stress-test a trained predictor: randomized SMILES, salts, hydrogens, tautomers, charges")
    p.add_argument("model", type=Path, help="a saved predictor (molssl finetune's output folder or PropertyPredictor.save)")
    p.add_argument("--input", type=Path, required=True, help="SMILES/CSV/TSV file of molecules to perturb")
    p.add_argument("--smiles-column", default=None)
    p.add_argument("--perturbations", nargs="+", default=None,
                   help="randomized_smiles, add_salt, add_water, strip_fragments, toggle_hydrogens, tautomer, neutralize (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=None, help="change above which a prediction counts as moved (default 1e-4)")
    p.add_argument("--threshold", type=float, default=None, help="decision threshold whose flips to count (classifiers, e.g. 0.5)")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.data.corpus import read_smiles_file
    from molssl.eval.stress import DEFAULT_TOLERANCE, stress_table, stress_test
    from molssl.tasks.predictor import PropertyPredictor

    model = PropertyPredictor.load(args.model)
    smiles = read_smiles_file(args.input, smiles_column=args.smiles_column).smiles
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    results = stress_test(model, smiles, args.perturbations, seed=args.seed, tolerance=tolerance, threshold=args.threshold)
    print(stress_table(results), end="")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": str(args.model), "input": str(args.input), "tolerance": tolerance,
                                        "results": [asdict(r) for r in results]}, indent=1))  # fmt: skip
    return 0
