"""``molssl probe``: kNN and linear-probe accuracy of frozen embeddings (an encoder checkpoint, random init, raw inputs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="kNN and linear-probe accuracy of an encoder's frozen embeddings on labelled data",
                       description="Embed a labelled data set with a pretrained encoder (and/or a random-init encoder, "
                                   "and/or the raw inputs), split it stratified into train/validation/test, and print "
                                   "weighted-kNN accuracy (cosine, T=0.07) and linear-probe accuracy (L2 chosen on "
                                   "validation, test reported).")  # fmt: skip
    p.add_argument("--encoder", type=Path, help="encoder checkpoint or pretraining run folder")
    p.add_argument("--random-init", action="store_true",
                   help="also probe the same encoder (or --encoder-kind) with fresh weights from --seed")
    p.add_argument("--encoder-kind", help="encoder kind for --random-init without --encoder (resnet, vit, ...)")
    p.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                   help="option of --encoder-kind, e.g. width=16, small_images=true (repeatable)")
    p.add_argument("--raw", action="store_true", help="also probe the raw inputs (flattened normalized pixels)")
    p.add_argument("--data", help="labelled data (default: the modality's embedded set, 5,000 MNIST digits for images)")
    p.add_argument("--data-option", action="append", default=[], metavar="KEY=VALUE", help="data option (repeatable)")
    p.add_argument("--modality", help="modality of --data (default: the checkpoint's, else a named set's: --data fsdd is "
                                      "audio; else image)")
    p.add_argument("--k", type=int, nargs="+", default=[20, 200], help="kNN neighbours (default 20 200)")
    p.add_argument("--temperature", type=float, default=0.07, help="kNN vote temperature (default 0.07)")
    p.add_argument("--l2", type=float, nargs="+", help="linear-probe L2 strengths to choose from on validation "
                   "(default 1e-1 1e-2 1e-3 1e-4 1e-5)")
    p.add_argument("--fractions", type=float, nargs=3, default=(0.6, 0.2, 0.2), metavar=("TRAIN", "VALID", "TEST"))
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of --random-init")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto (default)")
    p.add_argument("--json", type=Path, help="also write the full results to this JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from molssl.cli.split import parse_options
    from molssl.eval.probe import DEFAULT_L2_GRID, probe_representations

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    encoder_config = None
    if args.encoder_kind is not None:
        encoder_config = {"kind": args.encoder_kind, **parse_options(args.encoder_option)}
    elif args.encoder_option:
        raise ValueError("--encoder-option needs --encoder-kind")
    results = probe_representations(
        args.data, encoder=args.encoder, random_init=args.random_init, encoder_config=encoder_config, raw=args.raw,
        modality=args.modality, data_options=parse_options(args.data_option), seed=args.seed, device=device,
        batch_size=args.batch_size, ks=tuple(args.k), temperature=args.temperature, fractions=tuple(args.fractions),
        l2_grid=tuple(args.l2 or DEFAULT_L2_GRID),
    )  # fmt: skip
    first = next(iter(results.values()))
    print(f"data: {first['data'].get('path')} ({first['data'].get('images', first['data'].get('clips', '?'))} items; split "
          f"{first['items']['train']}/{first['items']['val']}/{first['items']['test']}, seed {args.seed})")  # fmt: skip
    header = f"{'representation':15s} {'dim':>5s} " + " ".join(f"{'kNN@' + str(k):>8s}" for k in args.k)
    print(header + f" {'linear':>8s}  (test accuracy; linear L2 chosen on validation)")
    for name, result in results.items():
        knn = " ".join(f"{result['knn'][str(k)]['test_accuracy']:8.4f}" for k in args.k)
        linear = result["linear"]
        print(f"{name:15s} {result['dim']:5d} {knn} {linear['test_accuracy']:8.4f}  (l2 {linear['l2']:g})")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0
