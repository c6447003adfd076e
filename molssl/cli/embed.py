"""``molssl embed``: one embedding per molecule from a saved predictor or pretrained encoder; writes CSV or .npy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("embed", help="embed molecules with a saved model (predictor or pretrained encoder, graph or text)")
    p.add_argument("model", type=Path, help="a `molssl finetune` or `molssl pretrain` output folder, or its model/ or encoder/")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, help="SMILES/CSV/TSV or SD (.sdf) file, optionally .gz")
    src.add_argument("--smiles", nargs="+", help="SMILES given on the command line")
    p.add_argument("--smiles-column", default=None)
    p.add_argument("--out", type=Path, default=None,
                   help="output .csv (smiles, e0.., error) or .npy ([M, D], NaN rows for unreadable molecules); "
                        "default: CSV on standard output")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=256, help="molecules per forward pass")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, or auto (CUDA when present)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.tasks.embedding import embed_smiles

    if args.smiles:
        smiles = args.smiles
    else:
        from molssl.data.molecule_table import read_molecule_table

        smiles = read_molecule_table(args.input, args.smiles_column).smiles
    result = embed_smiles(args.model, smiles, batch_size=args.batch_size, device=args.device)
    failed = sum(bool(e) for e in result.errors)
    if args.out is None:
        result.to_frame().to_csv(sys.stdout, index=False)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".npy":
        import numpy as np

        np.save(args.out, result.values)
    else:
        result.to_frame().to_csv(args.out, index=False)
    print(f"embedded {len(smiles) - failed} of {len(smiles)} molecules ({result.values.shape[1]} dimensions) -> {args.out}"
          + (f" ({failed} could not be read: see the 'error' column of a CSV output)" if failed else ""))  # fmt: skip
    return 0
