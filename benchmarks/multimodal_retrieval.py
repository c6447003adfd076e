"""Cross-modal retrieval on held-out MOSES molecules before and after CLIP-style alignment, vs chance.

Pretraining (``molssl.pretrain``, the shared loop): ``clip_align`` over ``--modalities`` (graph+SMILES,
or graph+SMILES+image) on the first ``--molecules`` molecules of the embedded 50k MOSES sample, for
``--steps`` steps of ``--batch`` molecules (Adam, lr ``--lr``), encoders of ``--size`` (``SIZES``);
runs live in ``benchmarks/_work/multimodal/`` and resume if interrupted. The last ``--held-out``
molecules of the sample (never trained on) are embedded by the model before training (the run's own
initial weights: same seed, same construction) and after, and every pair of modalities is scored
with ``molssl.multimodal.retrieval`` (recall@1/5/10 and mean rank, both directions; chance =
k / N and (N + 1) / 2). One row per (modalities, size, steps, seed) goes to
``results/multimodal_retrieval.jsonl``; a rerun skips recorded rows. ``benchmarks/multimodal_transfer.py``
fine-tunes the encoders of the same runs.

Run:
    python benchmarks/multimodal_retrieval.py --modalities graph,smiles --steps 150      # the recorded slice
    python benchmarks/multimodal_retrieval.py --modalities graph,smiles,image --steps 150
    python benchmarks/multimodal_retrieval.py --molecules 49000 --steps 20000 --size base --seeds 0 1 2  # intended (GPU)
    python benchmarks/multimodal_retrieval.py --plan | --report
"""

from __future__ import annotations

import argparse
import gzip
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "multimodal_retrieval"
WORK = ROOT / "benchmarks" / "_work" / "multimodal"
MOSES_SIZE = 50_000
#: encoder sizes: GIN layers x width, SMILES transformer preset, ResNet width (blocks 1 per stage for "small")
SIZES = {
    "small": {"graph.num_layers": 3, "graph.emb_dim": 64, "smiles.dim": 64, "smiles.depth": 2, "smiles.heads": 4,
              "image.width": 8, "image.blocks": [1, 1, 1, 1]},
    "base": {"graph.num_layers": 5, "graph.emb_dim": 300, "smiles.dim": 256, "smiles.depth": 6, "smiles.heads": 8,
             "image.width": 32},
}  # fmt: skip


def moses_split(molecules: int, held_out: int) -> tuple[Path, Path]:
    """Files of the first ``molecules`` MOSES molecules (training) and the last ``held_out`` (retrieval)."""
    from molssl.data.embedded import default_corpus

    if molecules + held_out > MOSES_SIZE:
        raise ValueError(f"--molecules + --held-out must be at most {MOSES_SIZE}")
    WORK.mkdir(parents=True, exist_ok=True)
    train, held = WORK / f"moses_first_{molecules}.smi", WORK / f"moses_last_{held_out}.smi"
    if not (train.is_file() and held.is_file()):
        with gzip.open(default_corpus(), "rt") as handle:
            lines = handle.read().splitlines()[1:]
        train.write_text("SMILES\n" + "\n".join(line.split()[0] for line in lines[:molecules]) + "\n")
        held.write_text("SMILES\n" + "\n".join(line.split()[0] for line in lines[-held_out:]) + "\n")
    return train, held


def encoder_options(size: str, modalities: str) -> dict:
    names = modalities.split(",")
    return {k: v for k, v in SIZES[size].items() if k.split(".")[0] in names}


def aligned_run(modalities: str, seed: int, args: argparse.Namespace) -> Path:
    """Pretrain (or find, or resume) ``clip_align`` over ``modalities``; returns its run directory."""
    from molssl.pretrain import DataConfig, RunConfig, TrainConfig, pretrain

    train_file, _ = moses_split(args.molecules, args.held_out)
    run = WORK / f"clip_{modalities.replace(',', '+')}_{args.size}_m{args.molecules}_s{args.steps}_b{args.batch}_seed{seed}"
    if (run / "encoders").is_dir() and (run / "encoder" / "config.json").is_file():
        return run
    config = RunConfig(method="clip_align", method_config={"modalities": modalities},
                       encoder=encoder_options(args.size, modalities),
                       data=DataConfig(path=str(train_file), options={"smiles_form": "randomized", "depict_size": 32}),
                       train=TrainConfig(steps=args.steps, batch_size=args.batch, lr=args.lr, seed=seed, log_every=10,
                                         checkpoint_every=50 if args.steps % 50 == 0 else 10, progress=False,
                                         device=args.device))  # fmt: skip
    pretrain(config, out=run, resume=(run / "config.json").is_file())
    return run


def run_one(modalities: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from molssl.methods.clip_align import CrossModalAlignment, CrossModalAlignmentConfig
    from molssl.multimodal.retrieval import cross_modal_retrieval, embed_source
    from molssl.multimodal.source import open_multimodal_source

    start_cpu = time.process_time()
    run = aligned_run(modalities, seed, args)
    pretrain_cpu = time.process_time() - start_cpu
    after_model = CrossModalAlignment.from_run(run)
    _, held_file = moses_split(args.molecules, args.held_out)
    held = open_multimodal_source(held_file, {"depict_size": 32}).with_modalities(modalities)
    torch.manual_seed(seed)  # the trainer's construction: the run's initial weights
    before_model = CrossModalAlignment(after_model.encoder_config, CrossModalAlignmentConfig.from_dict({"modalities": modalities}))
    before = cross_modal_retrieval(embed_source(before_model, held))
    after = cross_modal_retrieval(embed_source(after_model, held))
    import json

    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    return {"modalities": modalities, "size": args.size, "seed": seed, "steps": args.steps, "batch": args.batch,
            "molecules": args.molecules, "held_out": len(held), "before": before, "after": after,
            "final_loss": last["loss"], "logit_scale": last["logit_scale"], "pretrain_cpu_s": pretrain_cpu}  # fmt: skip


def report(args: argparse.Namespace) -> None:
    rows = recorded(SUITE)
    print("| modalities | direction | steps x batch | N held out | recall@1 before / after | recall@10 before / after | "
          "mean rank before / after | chance recall@1 / @10 / mean rank |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        a, b = r["before"], r["after"]
        for key in sorted(k.removesuffix("/mean_rank") for k in b if k.endswith("/mean_rank") and not k.startswith("chance")):
            label = f"seed {r['seed']}, {r['date'][:10]}" + (", re-created run" if r.get("note") else "")
            print(f"| {r['modalities']} ({label}) | {key} | {r['steps']} x {r['batch']} | {r['held_out']} | "
                  f"{a[key + '/recall@1']:.3f} / {b[key + '/recall@1']:.3f} | {a[key + '/recall@10']:.3f} / {b[key + '/recall@10']:.3f} | "
                  f"{a[key + '/mean_rank']:.0f} / {b[key + '/mean_rank']:.0f} | {b['chance/recall@1']:.4f} / "
                  f"{b['chance/recall@10']:.3f} / {b['chance/mean_rank']:.0f} |")  # fmt: skip


def add_pretraining_options(parser: argparse.ArgumentParser) -> None:
    """The options that name an aligned run (shared with ``multimodal_transfer.py``)."""
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--molecules", type=int, default=10_000, help="MOSES molecules to pretrain on (the first ones)")
    parser.add_argument("--held-out", type=int, default=1000, help="the last MOSES molecules, for retrieval")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modalities", nargs="+", default=["graph,smiles"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    add_pretraining_options(parser)
    parser.add_argument("--plan", action="store_true", help="list the runs not recorded yet")
    parser.add_argument("--report", action="store_true", help="print the Markdown table of the recorded rows")
    args = parser.parse_args()
    if args.report:
        return report(args)
    runs = [(m, s) for m in args.modalities for s in args.seeds]
    done = {(r["modalities"], r["seed"]) for r in recorded(SUITE)
            if (r["size"], r["steps"], r["batch"], r["molecules"]) == (args.size, args.steps, args.batch, args.molecules)}  # fmt: skip
    todo = todo_or_plan(runs, done, args.plan)
    if not todo:
        return
    command = "python benchmarks/multimodal_retrieval.py " + shlex.join(sys.argv[1:])
    for task in todo:
        row = run_one(*task, args)
        append_rows(SUITE, [row], command)
        print({k: v for k, v in row.items() if k not in ("before", "after")}, flush=True)


if __name__ == "__main__":
    main()
