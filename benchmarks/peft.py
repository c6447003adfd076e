"""Parameter-efficient fine-tuning and LP-FT vs full fine-tuning, from a pretrained encoder.

From a pretrained encoder (``--pretrained``: a zoo name, by default the converted Hu et al. GCN
``hu2020/gcn_supervised_contextpred``, or a checkpoint directory such as a ``molssl pretrain`` run's
``encoder/``), on BBBP, BACE, ClinTox and SIDER (embedded copies, deterministic scaffold split 80/10/10,
dropout 0.5, Adam 1e-3, batch 32, mean readout; same seeds for every variant), one row per (encoder,
variant, dataset, seed):

* ``scratch``: the same architecture from a random init, full fine-tuning (the baseline the
  pretrained gain is measured against; its rows belong to the encoder whose architecture they use);
* ``full``; ``full_lowlr`` (encoder lr 1e-4, head 1e-3); ``linear_probe``; ``lp_ft`` (Kumar et al.
  2022: half the epochs linear probing, then full fine-tuning with a fresh optimizer);
* ``adapter`` (bottleneck 32 after each layer), ``lora`` (rank 8, alpha 16 on the convs' linear
  maps), ``bitfit`` (biases and norms), ``gpf`` and ``gpf_plus`` (5 basis prompts) (``molssl.peft``).

Each row holds test ROC-AUC at the best-validation epoch and at the last epoch, the trainable and
total parameters, the median wall and process-CPU seconds per epoch (training plus the valid/test
evaluation, one torch thread; CPU time is the fair measure on a shared machine), and the size of the delta checkpoint of the PEFT variants. Rows are appended to
``results/peft.jsonl`` as each run ends; a rerun skips the rows recorded for the same encoder
(resumable; add seeds or datasets later). Every row names its encoder in ``pretrained`` (the zoo name,
or the directory relative to the repository plus ``#`` and the first 12 hex digits of the weights'
``state_sha256``, so a directory pretrained again is a new encoder); rows written before the field
existed are the Hu GCN's. Runs are ordered so every variant of one (dataset, seed) runs back to back: variant
and baseline are interleaved under the same machine load.

Run:
    python benchmarks/peft.py --epochs 10 --datasets bace bbbp --seeds 0 1 --jobs 2   # the recorded CPU-scale run
    python benchmarks/peft.py --epochs 100 --seeds 0 1 2 --jobs 4                     # the literature scale
    python benchmarks/peft.py --epochs 10 --seeds 0 1 --pretrained benchmarks/_work/peft_own/attr_masking_gin5x128/encoder
                                                                   # from molssl's own attr_masking GIN (RESULTS.md: how it was pretrained)
    python benchmarks/peft.py --plan                                                  # what would run
    python benchmarks/peft.py --timing 3 --datasets bace                             # CPU s/epoch per variant
    python benchmarks/peft.py --report [--epochs 10] [--seeds 0]                      # the Markdown tables
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.encoders import architecture, finetune_encoder_config, resolve_encoder  # noqa: E402
from benchmarks.record import append_rows, command_line, recorded, run_and_record, todo_or_plan  # noqa: E402

SUITE = "peft"
ENCODER = "hu2020/gcn_supervised_contextpred"
DATASETS = ["bace", "bbbp", "clintox", "sider"]
#: variant -> (pretrained?, FinetuneConfig fields)
VARIANTS: dict[str, tuple[bool, dict]] = {
    "scratch": (False, {"mode": "full"}),
    "full": (True, {"mode": "full"}),
    "full_lowlr": (True, {"mode": "full", "encoder_lr": 1e-4}),
    "linear_probe": (True, {"mode": "linear_probe"}),
    "lp_ft": (True, {"mode": "lp_ft"}),
    "adapter": (True, {"mode": "adapter", "peft": {"adapter_dim": 32}}),
    "lora": (True, {"mode": "lora", "peft": {"lora_rank": 8, "lora_alpha": 16.0}}),
    "bitfit": (True, {"mode": "bitfit"}),
    "gpf": (True, {"mode": "gpf"}),
    "gpf_plus": (True, {"mode": "gpf_plus", "peft": {"prompt_basis": 5}}),
}
PEFT_VARIANTS = ("adapter", "lora", "bitfit", "gpf", "gpf_plus", "linear_probe")


def run_one(variant: str, dataset: str, seed: int, epochs: int, label: str, encoder_dir: str) -> dict:
    import torch

    torch.set_num_threads(1)
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    start = time.perf_counter()
    pretrained, options = VARIANTS[variant]
    config = finetune_encoder_config(encoder_dir)
    finetune = FinetuneConfig(epochs=epochs, batch_size=32, lr=1e-3, seeds=(seed,), **options)
    stamps: list[tuple[float, float]] = []  # (wall, this process's CPU) at the end of each epoch
    predictor = PropertyPredictor(encoder=config, readout="mean", device="cpu")
    predictor.fit(dataset, config=finetune, pretrained=encoder_dir if pretrained else None, atom_order="input",
                  progress=lambda record: stamps.append((time.perf_counter(), time.process_time())))  # fmt: skip
    delta_bytes = None
    if variant in PEFT_VARIANTS:
        with tempfile.TemporaryDirectory() as tmp:
            predictor.save(Path(tmp) / "delta", delta=True)
            delta_bytes = (Path(tmp) / "delta" / "model.safetensors").stat().st_size
    m = predictor.metrics_
    s = m["per_seed"][0]
    return {
        "what": "peft", "pretrained": label, "encoder": label if pretrained else None,
        "architecture": architecture(config), "variant": variant, "dataset": dataset, "seed": seed,
        "epochs": epochs, "finetune": {k: v for k, v in finetune.to_dict().items() if k in ("mode", "encoder_lr", "peft", "lp_epochs")},
        "metric": m["metric"], "test_at_best_valid": s["test_at_best"], "valid_at_best": s["valid_at_best"],
        "best_epoch": s["best_epoch"], "test_at_last_epoch": s["test_at_last"], "valid_at_last_epoch": s["valid_at_last"],
        "trainable_parameters": m["trainable_parameters"], "total_parameters": m["total_parameters"],
        "sec_per_epoch": round(statistics.median(b[0] - a[0] for a, b in zip(stamps, stamps[1:])), 2) if len(stamps) > 1 else None,
        "cpu_sec_per_epoch": round(statistics.median(b[1] - a[1] for a, b in zip(stamps, stamps[1:])), 2) if len(stamps) > 1 else None,
        "delta_checkpoint_bytes": delta_bytes, "minutes": round((time.perf_counter() - start) / 60, 2),
    }  # fmt: skip


def time_epochs(variants: list[str], dataset: str, repeats: int, label: str, encoder_dir: str, on_row=None) -> list[dict]:
    """Process-CPU seconds of one fine-tuning epoch (training + valid/test scoring) per variant, one thread.

    The molecules are featurized once; each measurement runs two epochs of ``finetune`` and takes the CPU
    time between the ends of epoch 1 and 2 (model building and the first epoch's warm-up excluded).
    Variants are interleaved within each repeat, so they share the machine's load alike; ``on_row`` gets
    each row as it is measured.
    """
    import torch

    torch.set_num_threads(1)
    from molssl.data.labeled import featurize_table
    from molssl.data.labeled_source import load_labeled_table
    from molssl.data.splits_registry import get_splitter
    from molssl.nn.pretrained import load_encoder_state
    from molssl.tasks.finetune import FinetuneConfig, finetune
    from molssl.tasks.finetune_modes import peft_config
    from molssl.tasks.model import ModelFactory, PredictorConfig

    table = load_labeled_table(dataset, None, None, None)
    featurized = featurize_table(table, "hu")
    smiles = [table.smiles[i] for i in featurized.indices.tolist()]
    labels = table.labels[featurized.indices]
    split = get_splitter("scaffold")(smiles)
    encoder = finetune_encoder_config(encoder_dir)
    _, state = load_encoder_state(encoder_dir)
    rows = []
    variants = [v for v in variants if v != "lp_ft"]  # its epochs cost linear_probe's, then full's
    for repeat in range(repeats):
        for variant in variants:
            pretrained, options = VARIANTS[variant]
            config = FinetuneConfig(epochs=2, batch_size=32, lr=1e-3, seeds=(repeat,), **options)
            peft = peft_config(config.mode, config.peft)
            predictor_config = PredictorConfig(encoder=encoder, task_type=table.task_type, task_names=tuple(table.task_names),
                                               peft=peft.to_dict() if peft is not None else None)  # fmt: skip
            stamps: list[float] = []
            finetune(ModelFactory(predictor_config, state if pretrained else None), featurized.graphs, labels, split, config,
                     lambda record: stamps.append(time.process_time()))  # fmt: skip
            rows.append({"what": "peft_epoch_cpu", "pretrained": label, "variant": variant, "dataset": dataset, "repeat": repeat,
                         "cpu_sec_per_epoch": round(stamps[1] - stamps[0], 3)})  # fmt: skip
            if on_row is not None:
                on_row(rows[-1])
    return rows


def timing_table(rows: list[dict]) -> str:
    """Median (min-max over repeats) CPU seconds per epoch per variant and the ratio to ``full``."""
    by: dict[str, list[float]] = {}
    for r in rows:
        by.setdefault(r["variant"], []).append(r["cpu_sec_per_epoch"])
    full = statistics.median(by["full"]) if "full" in by else math.nan
    lines = ["| variant | CPU s/epoch, median (min-max) | vs full |", "|---|---|---|"]
    for v in [v for v in VARIANTS if v in by]:
        med = statistics.median(by[v])
        lines.append(f"| {v} | {med:.2f} ({min(by[v]):.2f}-{max(by[v]):.2f}, n={len(by[v])}) | {med / full:.2f}x |")
    return "\n".join(lines) + "\n"


def encoder_of(row: dict) -> str:
    """The label of the encoder a row was fine-tuned from (or, for ``scratch``, whose architecture it
    uses); rows recorded before ``pretrained`` existed are the Hu GCN's."""
    return row.get("pretrained", ENCODER)


def _key(row: dict) -> tuple:
    return row["variant"], row["dataset"], row["seed"], row["epochs"], encoder_of(row)


def plan(variants: list[str], datasets: list[str], seeds: list[int], epochs: int, label: str) -> list[tuple]:
    """Seed by seed, dataset by dataset, every variant back to back (interleaved under the same load)."""
    return [(v, d, s, epochs, label) for s in seeds for d in datasets for v in variants]


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else math.nan


def table(rows: list[dict], epochs: int, field: str = "test_at_best_valid") -> str:
    """One table per encoder (``encoder_table``), in the order the encoders were first recorded."""
    labels = list(dict.fromkeys(encoder_of(r) for r in rows if r["epochs"] == epochs))
    return "\n".join(f"from {label}:\n\n" + encoder_table([r for r in rows if encoder_of(r) == label], epochs, field)
                     for label in labels)  # fmt: skip


def encoder_table(rows: list[dict], epochs: int, field: str = "test_at_best_valid") -> str:
    """Per variant: mean test ROC-AUC (x100) per dataset +- the sample std over seeds (n seeds), the
    average over the (dataset, seed) pairs every variant has with the range of its per-seed averages, its
    difference to ``full`` and to ``scratch``, trainable parameters, median s/epoch and its ratio to
    ``full``, delta checkpoint size."""
    rows = [r for r in rows if r["epochs"] == epochs]
    by: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        by.setdefault((r["variant"], r["dataset"]), []).append(100 * r[field])
    variants = [v for v in VARIANTS if any(k[0] == v for k in by)]
    datasets = [d for d in DATASETS if any(k[1] == d for k in by)]
    # the average runs over the (dataset, seed) pairs every variant has, so the columns compare alike
    pairs = {(r["dataset"], r["seed"]) for r in rows}
    common = sorted(p for p in pairs if all(any(r["variant"] == v and (r["dataset"], r["seed"]) == p for r in rows) for v in variants))
    average = {v: _mean([100 * r[field] for r in rows if r["variant"] == v and (r["dataset"], r["seed"]) in common]) for v in variants}
    spread = {}
    for v in variants:  # seed spread of the per-seed average over the common datasets
        per_seed = {}
        for r in rows:
            if r["variant"] == v and (r["dataset"], r["seed"]) in common:
                per_seed.setdefault(r["seed"], []).append(100 * r[field])
        # a range of per-seed averages over different datasets would measure the datasets, not the seeds
        same_sets = len({tuple(sorted(d for d, s in common if s == seed)) for seed in per_seed}) == 1
        spread[v] = [statistics.mean(x) for x in per_seed.values()] if same_sets else []
    # CPU seconds of the (one-thread) process, from the rows that record it (the earliest rows have only
    # wall time, which on a shared machine measures the load)
    clock = "cpu_sec_per_epoch" if any(r.get("cpu_sec_per_epoch") for r in rows) else "sec_per_epoch"
    speed = {v: statistics.median([r[clock] for r in rows if r["variant"] == v and r.get(clock)] or [math.nan]) for v in variants}
    params = {v: next(r["trainable_parameters"] for r in rows if r["variant"] == v) for v in variants}
    delta = {v: statistics.median([r["delta_checkpoint_bytes"] for r in rows if r["variant"] == v and r.get("delta_checkpoint_bytes")] or [math.nan]) for v in variants}
    common_text = ", ".join(f"{d} s{s}" for d, s in common)
    lines = [f"{field.replace('_', ' ')}, {epochs} epochs; average over {len(common)} (dataset, seed) pairs every variant has ({common_text})", "",
             "| variant | trainable params | " + " | ".join(datasets) + f" | average | seed range | vs full | vs scratch | {'CPU' if clock.startswith('cpu') else 'wall'} s/epoch | vs full | delta ckpt |",
             "|---" * (len(datasets) + 9) + "|"]  # fmt: skip
    for v in variants:
        cells = []
        for d in datasets:
            values = by.get((v, d), [])
            cells.append("n/a" if not values else f"{_mean(values):.1f}" + (f" +- {statistics.stdev(values):.1f} ({len(values)})" if len(values) > 1 else " (1)"))
        rng = f"{min(spread[v]):.1f}-{max(spread[v]):.1f}" if len(spread[v]) > 1 else ""
        vs_full = "" if v == "full" or "full" not in average else f"{average[v] - average['full']:+.1f}"
        vs_scratch = "" if v == "scratch" or "scratch" not in average else f"{average[v] - average['scratch']:+.1f}"
        ratio = "" if v == "full" or math.isnan(speed.get("full", math.nan)) or math.isnan(speed[v]) else f"{speed[v] / speed['full']:.2f}x"
        size = "" if math.isnan(delta[v]) else f"{delta[v] / 1024:.0f} KiB"
        lines.append(f"| {v} | {params[v]:,} | " + " | ".join(cells) + f" | {average[v]:.1f} | {rng} | {vs_full} | {vs_scratch} | "
                     f"{'n/a' if math.isnan(speed[v]) else f'{speed[v]:.1f}'} | {ratio} | {size} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", default=ENCODER, metavar="NAME_OR_DIR",
                        help=f"the pretrained encoder: a zoo name or a checkpoint directory (default {ENCODER})")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs (Hu et al.: 100)")
    parser.add_argument("--jobs", type=int, default=1, help="processes, one torch thread each")
    parser.add_argument("--plan", action="store_true", help="list the runs still to do, in order, and exit")
    parser.add_argument("--report", action="store_true", help="print the tables of the recorded rows")
    parser.add_argument("--timing", type=int, default=0, metavar="REPEATS",
                        help="instead: CPU seconds of one epoch per variant on the first dataset, REPEATS interleaved rounds")
    args = parser.parse_args()
    if args.report:  # the rows of --seeds and --datasets (by default all)
        rows = [r for r in recorded(SUITE) if r["seed"] in args.seeds and r["dataset"] in args.datasets]
        for field in ("test_at_best_valid", "test_at_last_epoch"):
            print(table(rows, args.epochs, field))
        timing = recorded(f"{SUITE}_epoch_cpu")
        for label in dict.fromkeys(encoder_of(r) for r in timing):
            mine = [r for r in timing if encoder_of(r) == label]
            print(f"from {label}:\n\n" + timing_table([r for r in mine if r["date"] >= mine[-1]["date"][:10]]))
        return
    label, encoder_dir = resolve_encoder(args.pretrained)  # a zoo entry is converted and cached here, once
    if args.timing:
        command = command_line()
        def record(row: dict) -> None:  # appended as each measurement ends
            append_rows(f"{SUITE}_epoch_cpu", [row], command)
            print(row, flush=True)

        print(timing_table(time_epochs(args.variants, args.datasets[0], args.timing, label, encoder_dir, record)))
        return
    done = {_key(r) for r in recorded(SUITE)}
    runs = plan(args.variants, args.datasets, args.seeds, args.epochs, label)
    todo = todo_or_plan(runs, done, args.plan)
    if todo is None:
        return
    command = command_line()
    print(f"{len(todo)} runs to do ({len(runs) - len(todo)} recorded); {args.jobs} jobs x 1 thread", flush=True)
    run_and_record(SUITE, run_one, todo, args.jobs, command, encoder_dir)
    print(table(recorded(SUITE), args.epochs))


if __name__ == "__main__":
    main()
