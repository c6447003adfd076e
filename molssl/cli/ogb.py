"""``molssl ogb``: the OGB leaderboard harness for ogbg-mol* (``run``, ``report``, ``list``)."""

from __future__ import annotations

import argparse
from pathlib import Path

_ENCODERS = "gin, gin-virtual, gcn, gcn-virtual, sage, sage-virtual, gat, gat-virtual"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ogb", help="OGB leaderboard harness for ogbg-mol* datasets (run, report, list)")
    actions = p.add_subparsers(dest="ogb_command", required=True, metavar="ACTION")

    r = actions.add_parser("run", help="train and evaluate under the leaderboard rules (resumable per seed)")
    r.add_argument("dataset", help="ogbg-mol* dataset, e.g. ogbg-molhiv (see `molssl ogb list`)")
    r.add_argument("--root", default="dataset", help="folder holding ogbg_molhiv/ etc., as OGB's root (default ./dataset)")
    r.add_argument("--out", type=Path, default=None, help="run folder: record.json, leaderboard.md (default runs/ogb/<dataset>/<encoder>...)")
    r.add_argument("--encoder", default=None, help=f"{_ENCODERS} (default gin-virtual, or the checkpoint's with --init)")
    r.add_argument("--init", default=None, metavar="CHECKPOINT", help="pretrained encoder checkpoint to start from")
    r.add_argument("--feature", dest="features", default=None,
                   help="full (OGB's 9/3 features, default), simple (OGB's --feature simple) or a molssl scheme (e.g. hu)")
    r.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1 (default 10, as the leaderboard)")
    r.add_argument("--epochs", type=int, default=100)
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--lr", type=float, default=1e-3)
    r.add_argument("--dropout", type=float, default=0.5)
    r.add_argument("--num-layers", type=int, default=None, help="default 5 (or the checkpoint's)")
    r.add_argument("--emb-dim", type=int, default=None, help="default 300 (or the checkpoint's)")
    r.add_argument("--jk", default=None, help="last (default), concat, sum, max")
    r.add_argument("--residual", action="store_true", default=None)
    r.add_argument("--readout", default="mean", help="mean (default), sum, max, attention, set2set")
    r.add_argument("--weight-decay", type=float, default=0.0)
    r.add_argument("--mode", choices=("full", "linear_probe", "last_k"), default="full")
    r.add_argument("--last-k", type=int, default=1)
    r.add_argument("--encoder-lr", type=float, default=None)
    r.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, or auto (CUDA when present)")
    r.add_argument("--overwrite", action="store_true",
                   help="replace a run of another configuration in --out (a run of this configuration resumes)")
    r.add_argument("--method", default=None, help="name in the leaderboard table (default from encoder and pretraining)")
    r.add_argument("--external-data", default=None, help="external data used, e.g. the pretraining corpus")
    r.add_argument("--contact", default=None)
    r.add_argument("--references", default=None)
    r.add_argument("--save-predictions", action="store_true", help="write each seed's valid/test predictions as .npy")
    r.add_argument("--no-download", action="store_true", help="never download; report missing files instead")
    r.add_argument("--url", default=None, help="another location of OGB's zip")
    r.add_argument("--workers", type=int, default=1, help="featurization processes (molssl schemes)")
    r.add_argument("--on-unfeaturizable", choices=("empty", "raise"), default="empty")
    r.add_argument("--no-cache", action="store_true", help="do not cache the parsed raw files")
    r.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(run=run)

    rep = actions.add_parser("report", help="print the leaderboard table of one or more run records")
    rep.add_argument("records", nargs="+", type=Path, help="run folders or record.json files")
    rep.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    rep.set_defaults(run=report)

    lst = actions.add_parser("list", help="list the ogbg-mol* datasets")
    lst.set_defaults(run=list_datasets)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from molssl.ogb import OgbRunConfig, run_ogb

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    from molssl.ogb.report import markdown_table

    config = OgbRunConfig(
        dataset=args.dataset, encoder=args.encoder, init=args.init, features=args.features, num_layers=args.num_layers,
        emb_dim=args.emb_dim, jk=args.jk, residual=args.residual, dropout=args.dropout, readout=args.readout,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, mode=args.mode,
        last_k=args.last_k, encoder_lr=args.encoder_lr, seeds=args.seeds,
    )  # fmt: skip
    bars: list = []  # drawn at the first epoch, never before an error in the data or options

    def progress(record: dict) -> None:
        if not args.no_progress and not bars:
            bars.append(tqdm(desc=config.dataset, unit="epoch"))
        for bar in bars:
            bar.set_postfix(seed=record["seed"], loss=f"{record['loss']:.4f}", valid=f"{record['valid']:.4f}", test=f"{record['test']:.4f}")
            bar.update(1)

    try:
        record = run_ogb(
            config, root=args.root, out=args.out, download=not args.no_download, url=args.url, device=args.device,
            method=args.method, external_data=args.external_data, contact=args.contact, references=args.references,
            save_predictions=args.save_predictions, workers=args.workers, on_unfeaturizable=args.on_unfeaturizable,
            cache=not args.no_cache, progress=progress, overwrite=args.overwrite,
        )  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    print(markdown_table([record]))
    out = Path(record["out"])
    print(f"\nrecord: {out / 'record.json'}\ntable: {out / 'leaderboard.md'}")
    return 0


def report(args: argparse.Namespace) -> int:
    from molssl.ogb import load_record
    from molssl.ogb.report import markdown_table

    table = markdown_table([load_record(path) for path in args.records])
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n")
    return 0


def list_datasets(args: argparse.Namespace) -> int:
    from molssl.ogb.catalog import OGB_MOL_DATASETS

    print(f"{'name':<18} {'tasks':>5} {'metric':<7} {'task type':<22} url")
    for info in OGB_MOL_DATASETS.values():
        print(f"{info.name:<18} {info.num_tasks:>5} {info.eval_metric:<7} {info.task_type:<22} {info.url}")
    return 0
