"""kNN and linear-probe accuracy of image SSL methods vs a random-init encoder vs raw pixels (issue 18, evidence 1).

Protocol, per data set and seed:

1. split the labelled images stratified 60/20/20 (seed) into train / validation / test
   (``molssl.eval.probe.probe``'s split);
2. pretrain each method (``molssl.pretrain``) on the *train* images only, labels unused, for ``--steps`` steps
   of ``--batch-size`` (Adam, cosine schedule with warm-up, fp32, CPU);
3. embed all images with the frozen encoder, in eval mode, normalized as the checkpoint records;
4. weighted kNN (cosine, T = 0.07, k = 20 and 200; train items as the bank) and a linear probe (L2 chosen on
   validation), both reported on *test*; the same for a random-init encoder of the same config (seeded) and
   for the raw pixels.

Encoders: ResNet-18 layout at width ``--width`` with the small-image stem and one block per stage
(SimCLR, BYOL, DINO, Barlow Twins, VICReg); a ViT (patch 4, ``--vit-dim``, depth 4) for MAE, whose random-init
row is that ViT's. Views: each method's default recipe with ``flip_p=0`` (digits and clothes are not
mirror-symmetric in meaning) and, for 2-view recipes, crop scale (0.3, 1) instead of (0.08, 1) (28-pixel
images); DINO's multi-crop with 4 local crops; MAE's own recipe (crop 0.2-1, no flip). Heads shrunk for the CPU:
``method_options`` (Barlow Twins / VICReg expander 2048 x 3, DINO K = 4096, MAE decoder 2 x 128). These choices
are recorded in each row.

    python benchmarks/vision_probe.py [--data mnist fashion] [--fashion-dir DIR] [--methods simclr byol ...]
        [--steps 300] [--batch-size 128] [--seeds 0] [--threads 2] [--plan] [--table]

Fashion-MNIST: the IDX files of Debian's ``dataset-fashion-mnist`` package (``apt-get download
dataset-fashion-mnist && dpkg-deb -x dataset-fashion-mnist_*.deb DIR``; files in
``DIR/usr/share/datasets/fashion-mnist``); ``--fashion-size N`` probes a stratified sample of N of the 60,000
training images (pretraining on its train part). Rows are appended to ``results/vision_probe.jsonl``; runs
already recorded are skipped, so an interrupted run continues.
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

SUITE = "vision_probe"
METHODS = ("simclr", "byol", "barlow_twins", "vicreg", "dino", "mae")


def view_options(method: str) -> dict:
    if method == "dino":
        return {"flip_p": 0.0, "n_local": 4}
    if method == "mae":
        return {"flip_p": 0.0}  # the "mae" recipe: crop (0.2-1) and flip only
    return {"flip_p": 0.0, "crop_scale": [0.3, 1.0]}


def method_options(method: str) -> dict:
    """The method's options in these runs: its view options plus the heads shrunk for CPU runs (stated in each row).

    Barlow Twins and VICReg: a 2048-2048-2048 expander instead of the papers' 8192 x 3 (too slow on CPU);
    DINO: K = 4096 prototypes as solo-learn's CIFAR runs (paper: 65,536); MAE: a decoder of 2 blocks of 128
    (paper: 8 of 512; its ablation, table 1, reads linear probes down to 1 block of 128-256).
    """
    options: dict = {"view_options": view_options(method)}
    if method in ("barlow_twins", "vicreg"):
        options.update(projection_dim=2048, projection_hidden_dim=2048, projection_layers=3)
    elif method == "dino":
        options.update(out_dim=4096)
    elif method == "mae":
        options.update(decoder_dim=128, decoder_depth=2, decoder_heads=4)
    return options


def encoder_config(method: str, args: argparse.Namespace) -> dict:
    if method == "mae":
        return {"kind": "vit", "image_size": 28, "patch_size": 4, "dim": args.vit_dim, "depth": 4, "heads": 4}
    return {"kind": "resnet", "width": args.width, "blocks": [1, 1, 1, 1], "small_images": True}


def open_data(name: str, args: argparse.Namespace):
    from molssl.data.splits import stratified_split
    from molssl.vision.data import ImageSource, open_image_source

    if name == "mnist":
        return open_image_source()
    source = open_image_source(args.fashion_dir, {"split": "train"})
    if args.fashion_size and args.fashion_size < len(source):
        frac = args.fashion_size / len(source)
        keep = np.sort(stratified_split(source.labels.numpy(), frac, 0.0, 1 - frac, seed=12345).train)
        keep_t = torch.from_numpy(keep)
        source = ImageSource(source.images[keep_t], source.labels[keep_t], path=source.path + f" (stratified sample of "
                             f"{len(keep)}, seed 12345)", digest=source.digest)  # fmt: skip
    return source


def split_of(source, seed: int):
    from molssl.data.splits import stratified_split

    return stratified_split(source.labels.numpy(), 0.6, 0.2, 0.2, seed=seed)


def run_one(data_name: str, method: str, seed: int, args: argparse.Namespace) -> list[dict]:
    from molssl.eval.probe import embed, pixels, probe
    from molssl.nn.encoders import build_encoder, config_from_dict
    from molssl.nn.pretrained import load_encoder
    from molssl.pretrain.config import TrainConfig
    from molssl.pretrain.trainer import pretrain
    from molssl.vision.data import ImageSource

    source = open_data(data_name, args)
    train_rows = torch.from_numpy(np.asarray(split_of(source, seed).train).copy())
    pretrain_source = ImageSource(source.images[train_rows], None, path=source.path + " (probe train part)",
                                  digest=source.digest)  # fmt: skip
    protocol = {"ks": (20, 200), "temperature": 0.07, "fractions": (0.6, 0.2, 0.2)}
    base = {"data": data_name, "images": len(source), "seed": seed, "steps": args.steps, "batch_size": args.batch_size}
    rows = []
    if method == "raw":
        x, y = pixels(source)
        result = probe(x, y, seed=seed, **protocol)
        return [{**base, "method": "raw", "representation": "raw", **summary(result)}]
    config = config_from_dict({**encoder_config(method, args), "in_channels": 1})
    with tempfile.TemporaryDirectory() as tmp:
        log_every = max(1, args.steps // 10)
        train = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, schedule="cosine",
                            warmup_steps=max(1, args.steps // 10), seed=seed, log_every=log_every,
                            checkpoint_every=log_every * (args.steps // log_every + 1), progress=False,
                            device="cpu")  # fmt: skip
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        pretrain(method, pretrain_source, Path(tmp) / "run", train=train, encoder=dict(encoder_config(method, args)),
                 method_options=method_options(method))  # fmt: skip
        wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
        recorded_source = source.with_preprocessing(pretrain_source.preprocessing())
        encoder = load_encoder(Path(tmp) / "run", expected_preprocessing=recorded_source.preprocessing())
        x, y = embed(encoder, recorded_source)
        rows.append({**base, "method": method, "representation": "pretrained", "encoder": encoder_config(method, args),
                     "view_options": view_options(method), "method_options": method_options(method),
                     "pretrain_wall_s": round(wall, 1),
                     "pretrain_cpu_s": round(cpu, 1), **summary(probe(x, y, seed=seed, **protocol))})  # fmt: skip
    torch.manual_seed(seed)
    random_encoder = build_encoder(config)
    x, y = embed(random_encoder, recorded_source)
    rows.append({**base, "method": method, "representation": "random_init", "encoder": encoder_config(method, args),
                 **summary(probe(x, y, seed=seed, **protocol))})  # fmt: skip
    return rows


def summary(result: dict) -> dict:
    return {
        "knn20_test": result["knn"]["20"]["test_accuracy"], "knn200_test": result["knn"]["200"]["test_accuracy"],
        "knn20_val": result["knn"]["20"]["val_accuracy"], "linear_test": result["linear"]["test_accuracy"],
        "linear_val": result["linear"]["val_accuracy"], "linear_l2": result["linear"]["l2"], "dim": result["dim"],
        "split": result["items"],
    }  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = ["| data | method | representation | seeds | kNN@20 | kNN@200 | linear | pretrain CPU s |", "|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["data"], row["method"], row["representation"], row["steps"], row["batch_size"]), []).append(row)
    for (data, method, rep, steps, batch), group in sorted(groups.items()):
        def med(key: str) -> str:
            values = [r[key] for r in group if r.get(key) is not None]
            if not values:
                return "-"
            spread = f" ({min(values):.3f}-{max(values):.3f})" if len(values) > 1 else ""
            return f"{statistics.median(values):.3f}{spread}"

        label = method if method == "raw" else f"{method} ({steps}x{batch})"
        lines.append(f"| {data} | {label} | {rep} | {len(group)} | {med('knn20_test')} | {med('knn200_test')} | "
                     f"{med('linear_test')} | {med('pretrain_cpu_s')} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=["mnist"], choices=["mnist", "fashion"])
    parser.add_argument("--fashion-dir", type=Path, help="directory of the Fashion-MNIST IDX files")
    parser.add_argument("--fashion-size", type=int, default=10_000, help="stratified sample of the 60,000 (0 = all)")
    parser.add_argument("--methods", nargs="+", default=["raw", *METHODS])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--vit-dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plan", action="store_true", help="print the runs not recorded yet and stop")
    parser.add_argument("--table", action="store_true", help="print the table of the recorded rows and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(table(recorded(SUITE)))
        return 0
    if "fashion" in args.data and args.fashion_dir is None:
        parser.error("--data fashion needs --fashion-dir (see the module docstring)")
    torch.set_num_threads(args.threads)
    runs = [(d, m, s, args.steps, args.batch_size) for d in args.data for s in args.seeds for m in args.methods]
    done = {(r["data"], r["method"], r["seed"], r["steps"], r["batch_size"]) for r in recorded(SUITE)}
    done |= {(r["data"], "raw", r["seed"], s, b) for r in recorded(SUITE) if r["method"] == "raw" for (_, _, _, s, b) in runs}
    todo = todo_or_plan(runs, done, args.plan)
    if todo is None:
        return 0
    command = "python benchmarks/vision_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for data, method, seed, _, _ in todo:
        rows = run_one(data, method, seed, args)
        for row in rows:
            print(f"{data:8s} {method:12s} {row['representation']:11s} kNN@20 {row['knn20_test']:.3f} "
                  f"kNN@200 {row['knn200_test']:.3f} linear {row['linear_test']:.3f}", flush=True)  # fmt: skip
        append_rows(SUITE, rows, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
