"""``molssl example``: the end-to-end example on embedded data (the README's main job).

Pretrains the default GIN briefly on the embedded MOSES corpus (attribute masking by default), fine-tunes
it and a GIN from scratch on an embedded MoleculeNet set with the same scaffold split and seeds, prints
both test results, saves the pretrained-then-fine-tuned model and predicts a few molecules with it.
About 11 CPU-minutes (under 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLE_SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine
    "CN1CCC[C@H]1c1cccnc1",  # nicotine
    "OCC",  # ethanol
    "C1CC(",  # not a molecule: reported, not dropped
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    from molssl.methods import METHODS

    p = sub.add_parser("example", help="end-to-end example: pretrain, fine-tune with and without pretraining, predict")
    p.add_argument("--method", default="attr_masking", choices=sorted(m for m, c in METHODS.items() if not c.needs_labels),
                   help="pretraining method (default attr_masking)")  # fmt: skip
    p.add_argument("--data", default=None, help="unlabeled molecules to pretrain on (default: the embedded MOSES sample)")
    p.add_argument("--pretrain-steps", type=int, default=80, help="pretraining steps of 256 molecules (default 80)")
    p.add_argument("--dataset", default="bbbp", help="embedded MoleculeNet set (default bbbp)")
    p.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs (default 10; the literature uses 100)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", type=Path, default=Path("runs/example"), help="where runs and models go (default runs/example)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from molssl.cli.finetune import format_metric
    from molssl.pretrain import TrainConfig, pretrain
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    train = TrainConfig(steps=args.pretrain_steps, batch_size=256, log_every=10, checkpoint_every=50, progress=not args.no_progress)
    run_dir = args.out / f"pretrain-{args.method}"
    corpus = "the embedded MOSES sample" if args.data is None else args.data
    print(f"pretraining GIN 5x300 with {args.method} on {corpus}: {args.pretrain_steps} steps of 256 molecules")
    result = pretrain(args.method, args.data, run_dir, train=train, resume=True)
    first, last = result.metrics[0]["loss"], result.metrics[-1]["loss"]
    print(f"pretraining loss {first:.4f} -> {last:.4f}; encoder saved to {result.encoder_dir}")

    config = FinetuneConfig(epochs=args.epochs, seeds=tuple(args.seeds))
    results = {}
    for label, pretrained in (("no pretraining", None), (f"pretrained ({args.method})", result.encoder_dir)):
        bar = None if args.no_progress else tqdm(total=args.epochs * len(args.seeds), desc=f"fine-tune, {label}", unit="epoch")

        def progress(record: dict, bar=bar) -> None:
            if bar is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", valid=f"{record['valid']:.3f}")
                bar.update(1)

        try:
            predictor = PropertyPredictor(encoder="gin", scheme="hu").fit(args.dataset, config=config, pretrained=pretrained, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        results[label] = predictor

    info = predictor.info_
    train_n, valid_n, test_n = info["split"]["sizes"]
    print(f"\n{args.dataset}: {info['molecules']} molecules, scaffold split {train_n}/{valid_n}/{test_n}, GIN 5x300 "
          f"({info['num_parameters']:,} parameters), {args.epochs} epochs, seeds {args.seeds}")  # fmt: skip
    for label, p in results.items():
        m = p.metrics_
        best, at_last = m["test_at_best_valid"], m["test_at_last_epoch"]
        print(f"  {label:<28} test {m['metric']} at the best-validation epoch {format_metric(best['mean'])} +- "
              f"{format_metric(best['std'])}; at the last epoch {format_metric(at_last['mean'])} +- {format_metric(at_last['std'])}")  # fmt: skip
    path = predictor.save(args.out / "model")
    print(f"\npretrained model saved to {path}; predictions of the reloaded model:")
    frame = PropertyPredictor.load(path).predict(EXAMPLE_SMILES)
    with pd.option_context("display.width", 120, "display.max_colwidth", 60):
        print(frame.to_string(index=False))
    return 0
