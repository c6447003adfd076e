"""An image encoder pretrained on RDKit depictions of MOSES molecules, fine-tuned on BBBP and BACE depictions
beside a GIN on the same molecules (issue 18, evidence 2; ImageMol's setting, Zeng et al. 2022, at CPU scale).

Pretraining (once per ``--pretrain-seed``): ``--molecules`` molecules of the embedded MOSES sample, depicted by
RDKit (``molssl.vision.depict``: 2-D depiction, ``--size`` pixels, grayscale; cached by digest), ``--method``
(SimCLR by default) for ``--steps`` steps of ``--batch-size`` (Adam ``--lr``, cosine schedule), labels unused.
Encoder: the ResNet-18 layout at ``--width`` with one block per stage and the small-image stem (3x3/1, no
pool: bonds are 1-2 pixels wide at 64 pixels). Views: random resized crop of scale (0.5, 1) (a small crop of a
depiction shows a few bonds only) and flip 0.5 (a mirrored 2-D depiction is the same constitution), no color
jitter, grayscale or blur (on black-on-white drawings they change little but the background level), no rotation
(it would paint black corners on the white background). Measured before choosing (2,000 depictions, batch 64,
one thread): with the recipe's jitter and blur and the ImageNet stem (7x7/2 + pool, width 16) SimCLR's loss
stayed at chance (ln 127 = 4.84) for 200 steps; crop and flip with the small stem moved it 4.68 -> 4.44 in 40
steps (MNIST digits with the ImageNet stem: 4.84 -> 4.10).

Fine-tuning, per (dataset, seed), the protocol of the graph tables (``molssl.tasks.finetune``: scaffold
split 80/10/10 of the embedded MoleculeNet set, batch 32, Adam 1e-3, ``--epochs`` epochs, the epoch with the
best validation ROC-AUC selected, its test ROC-AUC reported) on the molecules a GIN keeps (``hu``
featurization), in the same order and split:

* ``image_<method>`` / ``image_random``: the pretrained ResNet / the same ResNet at random init (seeded by the
  fine-tuning seed), reading depictions normalized as the pretraining run recorded
  (``molssl.vision.molecule_inputs``); each in ``--modes`` (``full`` fine-tuning, ``linear_probe``: frozen
  encoder, only the head trains);
* ``gin``: a GIN 5x300 (``PropertyPredictor(encoder="gin")``, dropout 0.5) from scratch, same epochs and seeds.

Runs live in ``benchmarks/_work/depiction/``; rows go to ``results/depiction_transfer.jsonl`` as each fit ends,
and a rerun skips recorded rows (resumable).

Run:
    python benchmarks/depiction_transfer.py --datasets bbbp bace --seeds 0 1 2 --epochs 10 --molecules 10000 \\
        --steps 300 --batch-size 64 --width 8 --threads 1           # the recorded slice (CPU)
    python benchmarks/depiction_transfer.py --plan | --report
"""

from __future__ import annotations

import argparse
import gzip
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "depiction_transfer"
WORK = ROOT / "benchmarks" / "_work" / "depiction"
DATASETS = ["bbbp", "bace"]
VIEW_OPTIONS = {"crop_scale": [0.5, 1.0], "flip_p": 0.5, "jitter_p": 0.0, "gray_p": 0.0, "blur_p": 0.0}


def encoder_config(args: argparse.Namespace) -> dict:
    return {"kind": "resnet", "width": args.width, "blocks": [1, 1, 1, 1], "small_images": True, "in_channels": 1}


def moses_file(molecules: int) -> Path:
    """The first ``molecules`` SMILES of the embedded MOSES sample, as a .smi file."""
    from molssl.data.embedded import embedded_file

    target = WORK / f"moses_{molecules}.smi"
    if not target.is_file():
        with gzip.open(embedded_file("moses/moses_50k.smi.gz"), "rt") as handle:
            lines = handle.read().splitlines()
        header, body = lines[0], lines[1 : molecules + 1]
        if len(body) < molecules:
            raise ValueError(f"the embedded MOSES sample holds {len(body)} molecules, asked for {molecules}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join([header, *body]) + "\n")
    return target


def pretrained_run(args: argparse.Namespace) -> tuple[Path, dict]:
    """The pretraining run (built, or resumed when interrupted) and its cost."""
    from molssl.pretrain import TrainConfig, pretrain
    from molssl.vision.data import open_image_source

    run = WORK / f"{args.method}_m{args.molecules}_px{args.size}_w{args.width}_s{args.steps}_b{args.batch_size}_seed{args.pretrain_seed}"
    cost_file = run / "cost.txt"
    if (run / "encoder" / "config.json").is_file() and cost_file.is_file():
        wall, cpu = (float(v) for v in cost_file.read_text().split())
        return run, {"pretrain_wall_s": wall, "pretrain_cpu_s": cpu}
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    source = open_image_source(moses_file(args.molecules), {"depict_size": args.size})
    log_every = max(1, args.steps // 20)
    train = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, schedule="cosine",
                        warmup_steps=max(1, args.steps // 10), seed=args.pretrain_seed, log_every=log_every,
                        checkpoint_every=log_every * 5, progress=False, device="cpu")  # fmt: skip
    pretrain(args.method, source, run, train=train, encoder=encoder_config(args),
             method_options={"view_options": VIEW_OPTIONS}, resume=(run / "config.json").is_file())  # fmt: skip
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    cost_file.write_text(f"{wall:.1f} {cpu:.1f}\n")
    return run, {"pretrain_wall_s": round(wall, 1), "pretrain_cpu_s": round(cpu, 1)}


def molecules(dataset: str):
    """The labelled set as a GIN sees it: kept molecules (``hu`` featurization), labels, scaffold split."""
    from molssl.data.labeled import featurize_table
    from molssl.data.labeled_source import load_labeled_table
    from molssl.data.splits_registry import get_splitter

    table = load_labeled_table(dataset, None, None, None)
    result = featurize_table(table, "hu", on_error="skip")
    kept = result.indices
    smiles = [table.smiles[i] for i in kept.tolist()]
    labels = table.labels[kept]
    split = get_splitter("scaffold")(smiles, labels, seed=0, frac_train=0.8, frac_valid=0.1, frac_test=0.1)
    return table, smiles, labels, split


def run_image(variant: str, mode: str, dataset: str, seed: int, args: argparse.Namespace) -> dict:
    from molssl.checkpoint import read_checkpoint
    from molssl.nn.encoders import config_from_dict
    from molssl.nn.pretrained import checkpoint_in, load_encoder_state, recorded_preprocessing
    from molssl.tasks.finetune import FinetuneConfig, finetune
    from molssl.tasks.model import ModelFactory, PredictorConfig
    from molssl.vision.molecule_inputs import DepictedMolecules

    run, cost = pretrained_run(args)
    preprocessing = recorded_preprocessing(read_checkpoint(checkpoint_in(run / "encoder")).config)
    if variant == "image_random":
        config, state = config_from_dict(encoder_config(args)), None
    else:
        config, state = load_encoder_state(run / "encoder", expected_preprocessing=preprocessing)
    table, smiles, labels, split = molecules(dataset)
    inputs = DepictedMolecules(smiles, preprocessing, source=table.source)
    predictor = PredictorConfig(encoder=config, task_type=table.task_type, task_names=tuple(table.task_names))
    make_model = ModelFactory(predictor, state, None if state is None else str(run / "encoder"))
    start = time.perf_counter()
    outcome, _ = finetune(make_model, inputs, labels, split, FinetuneConfig(epochs=args.epochs, seeds=(seed,), mode=mode))
    summary = outcome.summary()
    return {**row_base(variant, mode, dataset, seed, args, split, summary), "finetune_wall_s": round(time.perf_counter() - start, 1),
            "encoder": encoder_config(args), "depiction": {"size": args.size, "channels": 1},
            "pretrain": None if state is None else {"method": args.method, "molecules": args.molecules, "steps": args.steps,
                                                    "batch_size": args.batch_size, "lr": args.lr, "seed": args.pretrain_seed,
                                                    "view_options": VIEW_OPTIONS, **cost}}  # fmt: skip


def run_gin(dataset: str, seed: int, args: argparse.Namespace) -> dict:
    from molssl.tasks.predictor import PropertyPredictor

    start = time.perf_counter()
    predictor = PropertyPredictor(encoder="gin", device="cpu").fit(dataset, epochs=args.epochs, seeds=(seed,))
    _, _, labels, split = molecules(dataset)
    return {**row_base("gin", "full", dataset, seed, args, split, predictor.metrics_),
            "finetune_wall_s": round(time.perf_counter() - start, 1), "encoder": {"kind": "gnn", "conv": "gin", "num_layers": 5, "emb_dim": 300}}  # fmt: skip


def row_base(variant: str, mode: str, dataset: str, seed: int, args: argparse.Namespace, split, summary: dict) -> dict:
    return {"dataset": dataset, "variant": variant, "mode": mode, "seed": seed, "epochs": args.epochs,
            "split": {"method": "scaffold", "sizes": [len(part) for part in split]}, "metric": summary["metric"],
            "test_at_best_valid": summary["test_at_best_valid"]["mean"], "valid_at_best_valid": summary["valid_at_best_valid"]["mean"],
            "test_at_last_epoch": summary["test_at_last_epoch"]["mean"],
            "best_epoch": summary["per_seed"][0].get("best_epoch"), "setting": setting(args)}  # fmt: skip


def setting(args: argparse.Namespace) -> dict:
    """What must match for a recorded row to count as this run's."""
    return {"method": args.method, "molecules": args.molecules, "size": args.size, "width": args.width,
            "steps": args.steps, "batch_size": args.batch_size, "pretrain_seed": args.pretrain_seed}  # fmt: skip


def variants(args: argparse.Namespace) -> list[tuple[str, str]]:
    image = [(f"image_{args.method}", m) for m in args.modes] + [("image_random", m) for m in args.modes]
    return image + ([("gin", "full")] if "gin" in args.baselines else [])


def report(args: argparse.Namespace) -> None:
    rows = [r for r in recorded(SUITE) if r["epochs"] == args.epochs and r["setting"] == setting(args)]
    print("| dataset | variant | mode | seeds | test ROC-AUC per seed | median | valid (median) |")
    print("|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for variant, mode in variants(args):
            group = sorted((r for r in rows if (r["dataset"], r["variant"], r["mode"]) == (dataset, variant, mode)), key=lambda r: r["seed"])
            if not group:
                continue
            tests = [r["test_at_best_valid"] for r in group]
            valids = [r["valid_at_best_valid"] for r in group]
            print(f"| {dataset} | {variant} | {mode} | {', '.join(str(r['seed']) for r in group)} | "
                  f"{' / '.join(f'{t:.3f}' for t in tests)} | {statistics.median(tests):.3f} | {statistics.median(valids):.3f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="fine-tuning seeds")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--modes", nargs="+", default=["full", "linear_probe"], choices=["full", "linear_probe"])
    parser.add_argument("--baselines", nargs="*", default=["gin"], choices=["gin"])
    parser.add_argument("--method", default="simclr", help="image pretraining method")
    parser.add_argument("--molecules", type=int, default=10_000, help="MOSES molecules depicted for pretraining")
    parser.add_argument("--size", type=int, default=64, help="depiction side in pixels")
    parser.add_argument("--width", type=int, default=8, help="ResNet width (embedding 8 x width)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--pretrain-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plan", action="store_true", help="list the runs not recorded yet")
    parser.add_argument("--report", action="store_true", help="print the Markdown table of the recorded rows")
    args = parser.parse_args()
    if args.report:
        return report(args)
    import torch

    torch.set_num_threads(args.threads)
    runs = [(v, m, d, s) for s in args.seeds for d in args.datasets for v, m in variants(args)]
    done = {(r["variant"], r["mode"], r["dataset"], r["seed"]) for r in recorded(SUITE)
            if r["epochs"] == args.epochs and r["setting"] == setting(args)}  # fmt: skip
    todo = todo_or_plan(runs, done, args.plan)
    if not todo:
        return
    command = "python benchmarks/depiction_transfer.py " + shlex.join(sys.argv[1:])
    for variant, mode, dataset, seed in todo:
        row = run_gin(dataset, seed, args) if variant == "gin" else run_image(variant, mode, dataset, seed, args)
        append_rows(SUITE, [row], command)
        print({k: row[k] for k in ("dataset", "variant", "mode", "seed", "test_at_best_valid", "finetune_wall_s")}, flush=True)


if __name__ == "__main__":
    main()
