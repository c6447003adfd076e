"""``molssl example``: the end-to-end example on embedded data (the README's main job).

Fine-tunes a GNN from scratch and from a released pretrained encoder of the model zoo (by default Hu et
al.'s GCN pretrained with supervised + context prediction, embedded in the package) on an embedded
MoleculeNet set, with the same scaffold split and seeds, and prints both test results; optionally also
pretrains the same architecture with one of molssl's own methods first (``--method``). Then saves the
fine-tuned pretrained model, reloads it and predicts a few molecules (one of them invalid: reported, not
dropped). 60 fine-tuning epochs of a GCN 5x300 on BACE with the defaults.
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
    from molssl.methods import methods_for

    p = sub.add_parser("example", help="end-to-end example: fine-tune from scratch and from a pretrained encoder, predict")
    p.add_argument("--pretrained", default="hu2020/gcn_supervised_contextpred",
                   help="zoo name or encoder checkpoint to fine-tune from (default hu2020/gcn_supervised_contextpred)")  # fmt: skip
    p.add_argument("--dataset", default="bace", help="embedded MoleculeNet set (default bace)")
    p.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs (default 10; the literature uses 100)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    # the graph methods, not imported here (building the parser of any command must not import PyG); the
    # one that needs labels is refused by run()
    p.add_argument("--method", default=None, choices=sorted(methods_for("graph")),
                   help="also pretrain the same architecture with this molssl method first (e.g. descriptors; not "
                        "supervised, which needs labels)")  # fmt: skip
    p.add_argument("--data", default=None, help="unlabeled molecules for --method (default: the embedded MOSES sample)")
    p.add_argument("--pretrain-steps", type=int, default=80, help="pretraining steps of 256 molecules for --method (default 80)")
    p.add_argument("--jobs", type=int, default=1,
                   help="seeds fine-tuned at once, one process each: less waiting on a multi-core machine, a little more "
                        "CPU time for the processes' start (default 1)")  # fmt: skip
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per fine-tuning process (default 1: a GCN on batches of 32 molecules gains little "
                        "from a second thread, and its waiting costs CPU time)")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("runs/example"), help="where runs and models go (default runs/example)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.data is not None and args.method is None:
        raise ValueError("--data is the corpus of --method's pretraining: pass --method too (e.g. --method descriptors)")
    if args.method is not None:
        from molssl.methods import get_method

        if get_method(args.method).needs_labels:
            raise ValueError(f"--method {args.method} needs labelled molecules, and the example pretrains on unlabeled ones: "
                             "choose a self-supervised method (e.g. attr_masking or descriptors)")
    if args.threads < 1 or args.jobs < 1:
        raise ValueError(f"--jobs and --threads must be >= 1, got {args.jobs} and {args.threads}")
    import pandas as pd
    import torch
    from tqdm import tqdm

    from molssl.cli.finetune import format_metric
    from molssl.nn.encoder import EncoderConfig
    from molssl.nn.pretrained import load_encoder_state
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor
    from molssl.zoo import resolve_pretrained

    saved, _ = load_encoder_state(resolve_pretrained(args.pretrained))
    encoder_config = EncoderConfig.from_dict({**saved.to_dict(), "dropout": 0.5})  # the fine-tuning protocol's dropout
    arch = f"{encoder_config.conv.upper()} {encoder_config.num_layers}x{encoder_config.emb_dim}"
    arms: list[tuple[str, object]] = [("no pretraining", None), (f"pretrained ({args.pretrained})", args.pretrained)]
    if args.method is not None:
        from molssl.pretrain import TrainConfig, pretrain

        train = TrainConfig(steps=args.pretrain_steps, batch_size=256, log_every=10, checkpoint_every=50, progress=not args.no_progress)
        corpus = "the embedded MOSES sample" if args.data is None else args.data
        print(f"pretraining {arch} with {args.method} on {corpus}: {args.pretrain_steps} steps of 256 molecules")
        scratch = {k: v for k, v in saved.to_dict().items() if k != "scheme"}
        result = pretrain(args.method, args.data, args.out / f"pretrain-{args.method}", train=train, encoder=scratch, resume=True)
        print(f"pretraining loss {result.metrics[0]['loss']:.4f} -> {result.metrics[-1]['loss']:.4f}; encoder saved to {result.encoder_dir}")
        arms.append((f"pretrained ({args.method}, {args.pretrain_steps} steps)", result.encoder_dir))

    config = FinetuneConfig(epochs=args.epochs, seeds=tuple(args.seeds))
    torch.set_num_threads(args.threads)  # also what the seeds use when they run in this process (jobs = 1)
    results = {}
    for label, pretrained in arms:
        bar = None if args.no_progress else tqdm(total=args.epochs * len(args.seeds), desc=f"fine-tune, {label}", unit="epoch")

        def progress(record: dict, bar=bar) -> None:
            if bar is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", valid=f"{record['valid']:.3f}")
                bar.update(1)

        try:
            predictor = PropertyPredictor(encoder=encoder_config).fit(args.dataset, config=config, pretrained=pretrained, progress=progress,
                                                                jobs=args.jobs, threads=args.threads)
        finally:
            if bar is not None:
                bar.close()
        results[label] = predictor

    info = results[arms[0][0]].info_
    train_n, valid_n, test_n = info["split"]["sizes"]
    print(f"\n{args.dataset}: {info['molecules']} molecules, scaffold split {train_n}/{valid_n}/{test_n}, {arch} "
          f"({info['num_parameters']:,} parameters), {args.epochs} epochs, seeds {args.seeds}")  # fmt: skip
    for label, p in results.items():
        m = p.metrics_
        best, at_last = m["test_at_best_valid"], m["test_at_last_epoch"]
        print(f"  {label:<50} test {m['metric']} at the best-validation epoch {format_metric(best['mean'])} +- "
              f"{format_metric(best['std'])}; at the last epoch {format_metric(at_last['mean'])} +- {format_metric(at_last['std'])}")  # fmt: skip
    path = results[arms[1][0]].save(args.out / "model")
    print(f"\nthe model fine-tuned from {args.pretrained} saved to {path}; predictions of the reloaded model:")
    frame = PropertyPredictor.load(path).predict(EXAMPLE_SMILES)
    with pd.option_context("display.width", 120, "display.max_colwidth", 60):
        print(frame.to_string(index=False))
    return 0
