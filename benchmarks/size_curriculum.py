"""Size curriculum vs uniform sampling for pretraining, on transfer at equal steps (issue 14).

Protocol (the transfer suite's CPU scale, ``benchmarks/transfer.py``):
  pretraining: attribute masking on the embedded 50,000-molecule MOSES sample, GIN ``--num-layers`` x
    ``--emb-dim`` (default 5 x 300; JK last, no dropout), Adam 1e-3, batch 256, ``--steps`` steps
    (default 195 = one epoch), seed 0; two runs
    that differ only in sampling: ``uniform`` (the loader's seeded permutation) and ``curriculum``
    (``TrainConfig.size_curriculum=--fraction``, ``curriculum_start=--start``: the first steps draw from
    the smallest molecules, ``molssl.data.size_curriculum``); with ``--none`` also no pretraining;
  fine-tuning: ``molssl.tasks.transfer.finetune_row`` (scaffold split, the pretrained GIN (``none``: the
    same architecture), mean readout, dropout 0.5,
    Adam 1e-3, batch 32, ``--epochs`` epochs, seeds ``--seeds``), test ROC-AUC at the best-validation
    epoch; the same seeds and splits for every variant.

Rows go to ``results/size_curriculum.jsonl`` as each run ends (``what``: ``pretrain`` or ``transfer``);
recorded rows are skipped, so a killed benchmark continues. ``--table`` prints the comparison.

Run:
    python benchmarks/size_curriculum.py --jobs 2
    python benchmarks/size_curriculum.py --table
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded  # noqa: E402

SUITE = "size_curriculum"
WORK = ROOT / "benchmarks" / "_work" / SUITE
METHOD = "attr_masking"


def _train_options(variant: str, args: argparse.Namespace) -> dict:
    options = {"steps": args.steps, "batch_size": 256, "seed": 0, "log_every": 5, "checkpoint_every": 25, "progress": False,
               "device": "cpu"}  # fmt: skip
    if variant == "curriculum":
        options.update(size_curriculum=args.fraction, curriculum_start=args.start)
    return options


def _run_dir(variant: str, args: argparse.Namespace) -> Path:
    tag = f"-f{args.fraction}-s{args.start}" if variant == "curriculum" else ""
    return WORK / f"{variant}-{args.steps}-{args.num_layers}x{args.emb_dim}{tag}"


def _encoder(args: argparse.Namespace) -> dict:
    return {"num_layers": args.num_layers, "emb_dim": args.emb_dim}


def pretrain_variant(variant: str, options: dict, encoder: dict, out: str) -> dict:
    """Pretrain (or resume) one variant; its row: losses over the run and time."""
    import torch

    from molssl.data.embedded import default_corpus
    from molssl.pretrain import TrainConfig, pretrain
    from molssl.pretrain.batch_order import BatchOrder
    from molssl.pretrain.data import unlabeled_data

    torch.set_num_threads(1)
    train = TrainConfig(**options)
    start = time.perf_counter()
    result = pretrain(METHOD, None, out, train=train, encoder=encoder, resume=(Path(out) / "config.json").is_file())
    rows = result.metrics
    data = unlabeled_data(default_corpus())
    atoms = data.graphs.num_atoms
    curriculum_steps = math.ceil(train.size_curriculum * train.steps)
    mean_atoms = None
    if curriculum_steps:  # the molecules the curriculum steps of epoch 0 drew, by the loop's own order
        order = BatchOrder(data, train.batch_size, train.seed, curriculum_steps=curriculum_steps,
                           curriculum_start=train.curriculum_start)  # fmt: skip
        drawn = order.epoch(0)[:curriculum_steps].reshape(-1).numpy()
        mean_atoms = float(atoms[drawn].mean())
    return {
        "what": "pretrain", "variant": variant, "method": METHOD, "encoder": encoder, "steps": result.steps,
        "size_curriculum": train.size_curriculum, "curriculum_start": train.curriculum_start,
        "curriculum_steps": curriculum_steps, "mean_atoms_curriculum_batches": mean_atoms,
        "mean_atoms_corpus": float(atoms.mean()), "loss_first_10": statistics.fmean(r["loss"] for r in rows[:2]),
        "loss_last_25": statistics.fmean(r["loss"] for r in rows[-5:]), "minutes": round((time.perf_counter() - start) / 60, 2),
        "run_dir": str(Path(out).relative_to(ROOT)),
    }  # fmt: skip


def finetune_variant(variant: str, encoder_dir: str | None, dataset: str, seed: int, steps: int, epochs: int, encoder: dict) -> dict:
    """One fine-tuning row of the transfer protocol, labeled with the pretraining variant."""
    import torch

    from molssl.tasks.transfer import FinetuneJob, finetune_row
    from molssl.tasks.transfer_config import TransferConfig

    torch.set_num_threads(1)
    name = "none" if encoder_dir is None else METHOD
    config = TransferConfig(variants=(name,), datasets=(dataset,), pretrain_steps=(max(steps, 1),), epochs=epochs, seeds=(seed,),
                            encoder=encoder, pretrain_device="cpu")  # fmt: skip
    row = finetune_row(FinetuneJob(config, name, steps if encoder_dir else 0, dataset, seed, encoder_dir))
    return {"what": "transfer", **row, "variant": variant, "encoder": encoder, "encoder_dir": encoder_dir and str(Path(encoder_dir).relative_to(ROOT))}


def _pretrain_key(row: dict) -> tuple:
    return row["variant"], row["steps"], json.dumps(row["encoder"]), row["size_curriculum"], row["curriculum_start"]


def _transfer_key(row: dict) -> tuple:
    return row["variant"], json.dumps(row["encoder"]), row["encoder_dir"], row["dataset"], row["seed"], row["epochs"]


def table(args: argparse.Namespace) -> str:
    """Markdown: mean +- std (n) test ROC-AUC per dataset and variant, and curriculum - uniform."""
    rows = [r for r in recorded(SUITE) if r["what"] == "transfer" and r["epochs"] == args.epochs and r["encoder"] == _encoder(args)
            and r["pretrain_steps"] in (0, args.steps) and (r["variant"] != "curriculum" or r["encoder_dir"] == str(_run_dir("curriculum", args).relative_to(ROOT) / "encoder"))]  # fmt: skip
    variants = [v for v in ("none", "uniform", "curriculum") if any(r["variant"] == v for r in rows)]
    out = ["| variant | " + " | ".join(args.datasets) + " | average |", "|---" * (len(args.datasets) + 2) + "|"]
    stats: dict[tuple[str, str], list[float]] = {}
    for variant in variants:
        cells, means = [], []
        for dataset in args.datasets:
            values = [100 * r["test_at_best_valid"] for r in rows if r["variant"] == variant and r["dataset"] == dataset]
            stats[variant, dataset] = values
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{statistics.fmean(values):.1f} +- {std:.1f} ({len(values)})")
                means.append(statistics.fmean(values))
            else:
                cells.append("n/a")
        average = f"{statistics.fmean(means):.1f}" if len(means) == len(cells) else "n/a"
        out.append(f"| {variant} | " + " | ".join(cells) + f" | {average} |")
    if {"uniform", "curriculum"} <= set(variants):
        cells = []
        for dataset in args.datasets:
            a, b = stats["uniform", dataset], stats["curriculum", dataset]
            if len(a) > 1 and len(b) > 1:
                delta = statistics.fmean(b) - statistics.fmean(a)
                inside = abs(delta) <= max(statistics.stdev(a), statistics.stdev(b))
                cells.append(f"{delta:+.1f} ({'inside' if inside else 'outside'} the seed spread)")
            else:
                cells.append("n/a")
        out.append("| curriculum - uniform | " + " | ".join(cells) + " | |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=195)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--emb-dim", type=int, default=300)
    parser.add_argument("--fraction", type=float, default=0.5, help="size_curriculum: share of the steps in the curriculum")
    parser.add_argument("--start", type=float, default=0.2, help="curriculum_start: share of the smallest molecules at step 0")
    parser.add_argument("--datasets", nargs="+", default=["bbbp", "bace"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--none", action="store_true", help="also fine-tune without pretraining")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="print the recorded comparison and exit")
    args = parser.parse_args()
    if args.table:
        print(table(args))
        return
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    command = "python benchmarks/size_curriculum.py " + shlex.join(sys.argv[1:])
    variants = ["uniform", "curriculum"]
    done = {_pretrain_key(r) for r in recorded(SUITE) if r["what"] == "pretrain"}
    todo = [v for v in variants if (v, args.steps, json.dumps(_encoder(args)), _train_options(v, args).get("size_curriculum", 0.0),
                                    _train_options(v, args).get("curriculum_start", 0.2)) not in done]  # fmt: skip
    WORK.mkdir(parents=True, exist_ok=True)
    from molssl.pretrain.data import unlabeled_data

    unlabeled_data(None, workers=args.jobs)  # build the corpus's store once, before the runs open it
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(pretrain_variant, v, _train_options(v, args), _encoder(args), str(_run_dir(v, args))) for v in todo]
        for future in futures:
            row = future.result()
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
        encoders = {v: str(_run_dir(v, args) / "encoder") for v in variants}
        if args.none:
            encoders = {"none": None, **encoders}
        done = {_transfer_key(r) for r in recorded(SUITE) if r["what"] == "transfer"}
        jobs = [(v, e, d, s) for s in args.seeds for d in args.datasets for v, e in encoders.items()
                if (v, json.dumps(_encoder(args)), e and str(Path(e).relative_to(ROOT)), d, s, args.epochs) not in done]  # fmt: skip
        futures = {pool.submit(finetune_variant, v, e, d, s, args.steps, args.epochs, _encoder(args)): (v, d, s) for v, e, d, s in jobs}
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - reported; the next invocation retries it
                print(f"run {futures[future]} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
    print(table(args))


if __name__ == "__main__":
    main()
