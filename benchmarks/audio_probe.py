"""Digit and speaker identification on FSDD from frozen embeddings: BYOL-A and masked spectrogram modelling vs a
random-init encoder vs raw log-mel features (issue 20).

Protocol, per seed, on the embedded Free Spoken Digit Dataset (3,000 recordings, 6 speakers x 10 digits x 50 takes):

1. FSDD's customary split: takes 0-4 are the test set (300 clips); takes 5-9 validation (300), takes 10-49 train
   (2,400) (``molssl.audio.data.AudioSource.probe_split``);
2. pretrain each method (``molssl.pretrain``) on the *train* clips only, labels unused, for ``--steps`` steps of
   ``--batch-size`` (Adam, cosine schedule with 10% warm-up, fp32):
   - ``byol``: BYOL with the "byola" views (mixup 0.4, random resized crop): BYOL-A, on BYOL-A's CNN encoder
     (``byola_cnn``, width ``--width``, ``--dim``-d);
   - ``mae``: MAE (mask ratio 0.75, normalized-patch target, a 2-block decoder of width 64) with the ViT on 8x8
     patches of the 64x64 log-mel spectrogram (``--vit-dim``, depth 4, 4 heads);
3. embed all clips with the frozen encoder (eval mode, the checkpoint's normalization);
4. for each task (digit: 10 classes; speaker: 6), weighted kNN (cosine, T = 0.07, k = 20 and 200; train clips as
   the bank) and a linear probe (L2 chosen on validation), both reported on *test*; the same for a random-init
   encoder of the same config (seeded) and for the raw baseline: each clip's log-mel (64 bands) averaged over its
   own frames.

    python benchmarks/audio_probe.py [--methods raw byol mae] [--steps 150] [--batch-size 64] [--seeds 0]
        [--threads 1] [--device cpu] [--plan] [--table]

Rows are appended to ``results/audio_probe.jsonl``; runs already recorded (same method, seed, steps, batch size,
device) are skipped, so an interrupted run continues. Each encoder row records the log-mel normalization it used
(``normalization``: two scalars from the train clips). Rows carrying a ``superseded`` field (its value says why)
stay in the file as history but count neither as done nor in ``--table``: the first BYOL-A/MAE rows were
normalized with statistics from all 3,000 clips, test takes included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "audio_probe"
METHODS = ("byol", "mae")
TASKS = ("digit", "speaker")
#: the probes' train takes (``AudioSource.probe_split``): the only clips pretraining sees
TRAIN_TAKES = range(10, 50)


def encoder_config(method: str, args: argparse.Namespace) -> dict:
    if method == "mae":
        return {"kind": "vit", "image_size": 64, "patch_size": 8, "dim": args.vit_dim, "depth": 4, "heads": 4}
    return {"kind": "byola_cnn", "width": args.width, "dim": args.dim}


def method_options(method: str) -> dict:
    if method == "mae":
        return {"decoder_dim": 64, "decoder_depth": 2, "decoder_heads": 4}
    return {"projection_dim": 128, "projection_hidden_dim": 512, "prediction_hidden_dim": 512}


def live(rows: list[dict]) -> list[dict]:
    """The rows not flagged ``superseded`` (the ones the tables read and that count as done)."""
    return [row for row in rows if "superseded" not in row]


def probe_tasks(x: torch.Tensor, source) -> dict:
    """kNN and linear probe of embeddings ``x`` [N, D] for each task, on the customary split."""
    from molssl.eval.probe import probe

    split = source.probe_split()
    out = {}
    for task in TASKS:
        result = probe(x, source.labels[task].to(x.device), split=split, ks=(20, 200), temperature=0.07)
        out[task] = {
            "knn20_test": result["knn"]["20"]["test_accuracy"], "knn200_test": result["knn"]["200"]["test_accuracy"],
            "linear_test": result["linear"]["test_accuracy"], "linear_val": result["linear"]["val_accuracy"],
            "linear_l2": result["linear"]["l2"], "dim": result["dim"], "split": result["items"],
        }  # fmt: skip
    return out


def run_one(method: str, seed: int, args: argparse.Namespace) -> list[dict]:
    from molssl.audio.data import open_audio_source
    from molssl.eval.probe import embed, pixels
    from molssl.nn.encoders import build_encoder, config_from_dict
    from molssl.nn.pretrained import load_encoder
    from molssl.pretrain.config import TrainConfig
    from molssl.pretrain.trainer import pretrain

    source = open_audio_source()
    base = {"data": "fsdd", "clips": len(source), "seed": seed, "steps": args.steps, "batch_size": args.batch_size,
            "device": args.device}  # fmt: skip
    if method == "raw":
        x, _ = pixels(source)
        return [{**base, "method": "raw", "representation": "raw_logmel_mean", "normalization": None, "task": task, **result}
                for task, result in probe_tasks(x, source).items()]  # fmt: skip
    pretrain_source = source.with_takes(TRAIN_TAKES)  # normalized from these clips only
    config = encoder_config(method, args)
    with tempfile.TemporaryDirectory() as tmp:
        log_every = max(1, args.steps // 10)
        train = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, schedule="cosine",
                            warmup_steps=max(1, args.steps // 10), seed=seed, log_every=log_every,
                            checkpoint_every=args.steps, progress=False, device=args.device)  # fmt: skip
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = pretrain(method, pretrain_source, Path(tmp) / "run", train=train, encoder=dict(config),
                          method_options=method_options(method))  # fmt: skip
        wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
        losses = [row["loss"] for row in result.metrics]
        prepared = source.with_preprocessing(pretrain_source.preprocessing())
        encoder = load_encoder(Path(tmp) / "run", expected_preprocessing=prepared.preprocessing())
        x, _ = embed(encoder, prepared, device=args.device)
    normalization = {"from": "train takes 10-49", **prepared.preprocessing()["normalization"]}
    common = {**base, "method": method, "encoder": config, "method_options": method_options(method),
              "normalization": normalization}  # fmt: skip
    rows = [{**common, "representation": "pretrained", "task": task, "pretrain_wall_s": round(wall, 1),
             "pretrain_cpu_s": round(cpu, 1), "loss_first": losses[0], "loss_last": losses[-1],
             "effective_rank_last": result.metrics[-1].get("effective_rank"), **r}
            for task, r in probe_tasks(x, prepared).items()]  # fmt: skip
    torch.manual_seed(seed)
    random_encoder = build_encoder(config_from_dict({**config, "in_channels": 1}))
    x, _ = embed(random_encoder, prepared, device=args.device)
    rows += [{**common, "representation": "random_init", "task": task, **r} for task, r in probe_tasks(x, prepared).items()]
    return rows


def median_cell(values: list[float], digits: int = 3) -> str:
    """The median of ``values`` with their range when there are several ("-" for none)."""
    if not values:
        return "-"
    middle = statistics.median(values)
    return f"{middle:.{digits}f}" if len(values) == 1 else f"{middle:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(rows: list[dict]) -> str:
    """Markdown table of the recorded rows: one line per task, method, representation and scale."""
    header = "| task | method (steps x batch) | representation | seeds | kNN@20 | kNN@200 | linear | pretrain CPU s |"
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        scale = (row["steps"], row["batch_size"], row.get("device", "cpu"))
        groups.setdefault((row["task"], row["method"], row["representation"], scale), []).append(row)
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for (task, method, representation, (steps, batch, device)), group in sorted(groups.items()):
        cells = [median_cell([r[key] for r in group if r.get(key) is not None], 0 if key == "pretrain_cpu_s" else 3)
                 for key in ("knn20_test", "knn200_test", "linear_test", "pretrain_cpu_s")]  # fmt: skip
        name = method if method == "raw" else f"{method} ({steps}x{batch}, {device})"
        lines.append(f"| {task} | {name} | {representation} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gain_table(rows: list[dict]) -> str:
    """Markdown table of each seed's pretrained minus same-seed random-init test accuracy, in points."""
    keyed: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        if row["method"] != "raw":
            scale = (row["steps"], row["batch_size"], row.get("device", "cpu"))
            keyed.setdefault((row["task"], row["method"], scale, row["seed"]), {})[row["representation"]] = row
    groups: dict[tuple, list[dict[str, dict]]] = {}
    for (task, method, scale, _), pair in sorted(keyed.items()):
        if {"pretrained", "random_init"} <= set(pair):
            groups.setdefault((task, method, scale), []).append(pair)
    lines = ["| task | method (steps x batch) | seeds | kNN@20 gain per seed | median | linear gain per seed | median |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for (task, method, (steps, batch, device)), pairs in groups.items():
        cells = []
        for key in ("knn20_test", "linear_test"):
            gains = [100 * (p["pretrained"][key] - p["random_init"][key]) for p in pairs]
            cells += [", ".join(f"{g:+.1f}" for g in gains), f"{statistics.median(gains):+.1f}"]
        lines.append(f"| {task} | {method} ({steps}x{batch}, {device}) | {len(pairs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=["raw", *METHODS])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=32, help="byola_cnn channels")
    parser.add_argument("--dim", type=int, default=256, help="byola_cnn embedding size")
    parser.add_argument("--vit-dim", type=int, default=64, help="ViT token width (MAE)")
    parser.add_argument("--device", default="cpu", help="where to pretrain and embed (cpu, cuda)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (on a shared, loaded CPU two threads mostly spin: 94-111 vs 5-11 CPU-s per 60-step run)")
    parser.add_argument("--table", action="store_true", help="only print the markdown table of the recorded rows")
    parser.add_argument("--plan", action="store_true", help="only list the runs still to do")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.table:
        print(table(live(recorded(SUITE))) + "\n\n" + gain_table(live(recorded(SUITE))))
        return 0
    runs = [(m, s, args.steps, args.batch_size, args.device) for s in args.seeds for m in args.methods]
    rows = live(recorded(SUITE))
    done = {(r["method"], r["seed"], r["steps"], r["batch_size"], r.get("device", "cpu")) for r in rows}
    done |= {("raw", r["seed"], s, b, d) for r in rows if r["method"] == "raw" for (_, _, s, b, d) in runs}
    todo = todo_or_plan(runs, done, args.plan)
    if todo is None:
        return 0
    command = "python benchmarks/audio_probe.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for run in todo:
        rows = run_one(run[0], run[1], args)
        append_rows(SUITE, rows, command)  # run by run: an interrupted suite keeps what it measured
        print("\n".join(f"{r['method']:5s} {r['representation']:16s} {r['task']:8s} " + "  ".join(
            f"{name} {r[key]:.3f}" for name, key in (("kNN@20", "knn20_test"), ("kNN@200", "knn200_test"),
                                                     ("linear", "linear_test"))) for r in rows), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
