"""``molssl predict``: predict properties of molecules with a saved model; writes a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from molssl.data.corpus import SMILES_COLUMN_CANDIDATES

#: ``--smiles-column``'s help, for every command that reads labeled or unlabeled molecule files
SMILES_COLUMN_HELP = (f"the SMILES column of a CSV/TSV file (default: the first of {', '.join(SMILES_COLUMN_CANDIDATES)}, "
                      "in any case; an SD file brings its molecules)")  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict properties with a saved model (one output row per input)")
    p.add_argument("model", type=Path, help="the --out folder of `molssl finetune`, or its model/ folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, help="SMILES/CSV/TSV or SD (.sdf) file, optionally .gz; its other columns "
                     "(IDs, names, SD data fields) are kept beside the predictions")
    src.add_argument("--smiles", nargs="+", help="SMILES given on the command line")
    p.add_argument("--smiles-column", default=None, help=SMILES_COLUMN_HELP)
    p.add_argument("--out", type=Path, default=None, help="output CSV (default: standard output)")
    p.add_argument("--batch-size", type=int, default=256, help="molecules per forward pass")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, or auto (CUDA when present)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--sanitize", choices=("strict", "lenient"), default="strict",
                   help="lenient also predicts molecules that fail only RDKit's valence check")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.tasks.predictor import PropertyPredictor

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    predictor = PropertyPredictor.load(args.model, device=args.device)
    if args.smiles:
        frame = predictor.predict(args.smiles, batch_size=args.batch_size, sanitize=args.sanitize)
    else:
        frame = predictor.predict_file(args.input, smiles_column=args.smiles_column, batch_size=args.batch_size, sanitize=args.sanitize)
    if args.out is None:
        frame.to_csv(sys.stdout, index=False)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out, index=False)
        failed = int((frame["error"] != "").sum())
        print(f"predicted {len(frame) - failed} of {len(frame)} molecules -> {args.out}" + (f" ({failed} with an error, see the 'error' column)" if failed else ""))
        outside = int((frame["domain"] != "").sum()) if "domain" in frame else 0
        if outside:
            print(f"{outside} molecule(s) lie outside the training domain (unseen elements or sizes): see the 'domain' column")
    return 0
