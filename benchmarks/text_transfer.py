"""SMILES transformer transfer: from scratch vs MLM-pretrained vs randomized-SMILES contrastive, beside a GIN.

Pretraining (``molssl.pretrain``, the shared loop): ``mlm`` and ``smiles_contrastive`` on the embedded
50k MOSES sample for ``--pretrain-steps`` steps of ``--pretrain-batch`` molecules (Adam, lr 5e-4, seed 0),
the same encoder size for both; runs are cached in ``benchmarks/_work/text_transfer/`` and resumed if
interrupted. Fine-tuning (``PropertyPredictor``, the GNNs' protocol): scaffold split 80/10/10 of the
embedded MoleculeNet sets, ``--epochs`` epochs, batch 32, Adam 1e-3, selection on validation, test
reported at the best-validation epoch, one row per (variant, dataset, seed):

* ``gin``: GIN (``--gin-layers`` x ``--gin-dim``) from scratch, the graph baseline of the same protocol;
* ``text_scratch``: the SMILES transformer from a random init;
* ``text_mlm``, ``text_contrastive``: the same transformer from the pretrained encoders;
* ``text_mlm_lora``, ``text_mlm_adapter`` (on request): the MLM encoder frozen, LoRA on the attention
  projections / bottleneck adapters after each sub-layer trained with the head (``molssl.peft``);
* ``text_descriptors``: from MolBERT-style pretraining (``smiles_descriptors``: all RDKit descriptors regressed
  plus MLM), on the first ``--descriptor-molecules`` MOSES molecules (100 x 64 = 6,400 is one pass over them;
  descriptors for all 50k cost ~6 ms a molecule, too much for a shared CPU).
* ``text_scratch_canonical``, ``text_mlm_canonical`` (on request): as ``text_scratch`` / ``text_mlm`` but every
  molecule rewritten as RDKit's canonical SMILES before fine-tuning (same molecules, same scaffold split), so a
  text model cannot read how the file's authors wrote a molecule (Kekule or aromatic form), only what it is.

``--writing-rules`` records, per dataset, the test and validation ROC-AUC of two rules that read only the writing
(no model): "aromatic molecule written in Kekule form" and "written with a protonated bracket atom" (``[NH+]``,
``[nH+]``, ...), on the same kept molecules and scaffold split (``results/text_transfer_writing_rules.jsonl``). On ClinTox
they show what a text model can learn from the file's writing alone.

Each row also holds the randomized-SMILES prediction spread (``molssl.text.invariance``) of the
selected model on the first ``--spread-molecules`` test molecules, each written 1 + ``--spread-views``
ways: mean std of the prediction over a molecule's writings and, for classifiers, the share of
molecules whose predicted class flips. Rows go to ``results/text_transfer.jsonl`` as each run ends; a
rerun skips recorded rows (resumable).

Run:
    python benchmarks/text_transfer.py --datasets bbbp esol freesolv --seeds 0 1 2 --epochs 5 --pretrain-steps 100  # recorded
    python benchmarks/text_transfer.py --datasets bbbp bace clintox sider esol lipo --seeds 0 1 2 --epochs 100 \\
        --pretrain-steps 20000 --size small                                                   # the intended scale (GPU)
    python benchmarks/text_transfer.py --datasets clintox --seeds 0 1 2 --variants text_scratch_canonical text_mlm_canonical
    python benchmarks/text_transfer.py --datasets clintox --writing-rules                     # recorded
    python benchmarks/text_transfer.py --plan | --report
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "text_transfer"
WORK = ROOT / "benchmarks" / "_work" / "text_transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider", "esol", "freesolv", "lipo"]
VARIANTS = {"gin": None, "text_scratch": None, "text_mlm": "mlm", "text_contrastive": "smiles_contrastive",
            "text_descriptors": "smiles_descriptors", "text_mlm_lora": "mlm", "text_mlm_adapter": "mlm",
            "text_scratch_canonical": None, "text_mlm_canonical": "mlm"}
#: the fine-tuning mode of each variant (default: full); the PEFT variants train adapters / LoRA on the frozen MLM encoder
MODES = {"text_mlm_lora": "lora", "text_mlm_adapter": "adapter"}
DEFAULT_VARIANTS = ["gin", "text_scratch", "text_mlm", "text_contrastive", "text_descriptors"]
#: variants fine-tuned on RDKit's canonical SMILES of each molecule instead of the file's writing
CANONICAL = {"text_scratch_canonical", "text_mlm_canonical"}
MOSES = "moses/moses_50k.smi.gz"


def descriptor_corpus(molecules: int) -> Path:
    """The first ``molecules`` SMILES of the embedded MOSES sample as a file (RDKit descriptors of all 50k cost
    about 6 ms a molecule, too much for a CPU run; this is what ``molecules // batch`` steps see once)."""
    import gzip

    from molssl.data.embedded import embedded_file

    path = WORK / f"moses_first_{molecules}.smi"
    if not path.is_file():
        with gzip.open(embedded_file(MOSES), "rt") as handle:
            lines = handle.read().splitlines()[: molecules + 1]  # header + molecules
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return path


def pretrained_encoder(method: str, args: argparse.Namespace) -> Path:
    """Pretrain (or find, or resume) the encoder of ``method``; returns its run directory."""
    from molssl.pretrain import TrainConfig, pretrain

    run = WORK / f"{method}_{args.size}_s{args.pretrain_steps}_b{args.pretrain_batch}"
    data = None  # the embedded 50k MOSES sample
    if method == "smiles_descriptors":
        data = descriptor_corpus(args.descriptor_molecules)
        run = run.with_name(f"{run.name}_m{args.descriptor_molecules}")
    if (run / "encoder" / "config.json").is_file():
        return run
    train = TrainConfig(steps=args.pretrain_steps, batch_size=args.pretrain_batch, lr=5e-4, log_every=10,
                        checkpoint_every=50 if args.pretrain_steps % 50 == 0 else 10, progress=False,
                        precision=args.precision, device=args.device)  # fmt: skip
    pretrain(method, data, run, train=train, encoder={"kind": "smiles_transformer", **size_options(args.size)},
             resume=(run / "config.json").is_file())  # fmt: skip
    return run


def size_options(size: str) -> dict:
    from molssl.text.encoder import PRESETS

    return dict(PRESETS[size])


def run_one(variant: str, dataset: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from molssl.tasks.predictor import PropertyPredictor
    from molssl.text.invariance import prediction_spread

    method = VARIANTS[variant]
    pretrained = pretrained_encoder(method, args) if method else None
    if variant == "gin":
        predictor = PropertyPredictor(encoder="gin", num_layers=args.gin_layers, emb_dim=args.gin_dim, device=args.device)
    else:
        predictor = PropertyPredictor(encoder="smiles_transformer", device=args.device, **size_options(args.size))
    start_cpu, start = time.process_time(), time.perf_counter()
    mode = MODES.get(variant, "full")
    data = canonically_written(dataset) if variant in CANONICAL else dataset
    predictor.fit(data, pretrained=pretrained, epochs=args.epochs, batch_size=32, lr=1e-3, seeds=(seed,), mode=mode)
    fit_cpu, fit_wall = time.process_time() - start_cpu, time.perf_counter() - start
    frame = predictor.fit_predictions_
    test_smiles = frame.loc[frame["split"] == "test", "smiles"].tolist()[: args.spread_molecules]
    spread = prediction_spread(predictor, test_smiles, views=args.spread_views, seed=seed)
    metrics = predictor.metrics_
    return {
        "variant": variant, "dataset": dataset, "seed": seed, "epochs": args.epochs, "metric": metrics["metric"],
        "test_at_best_valid": metrics["test_at_best_valid"]["mean"], "valid_at_best_valid": metrics["valid_at_best_valid"]["mean"],
        "test_at_last_epoch": metrics["test_at_last_epoch"]["mean"], "best_epoch": metrics["per_seed"][0]["best_epoch"],
        "pretrain_method": method, "pretrain_steps": args.pretrain_steps if method else 0, "pretrain_batch": args.pretrain_batch,
        "pretrain_corpus": None if not method else (f"first {args.descriptor_molecules} of {MOSES}" if method == "smiles_descriptors"
                                                    else MOSES),
        "size": args.size if variant != "gin" else f"gin {args.gin_layers}x{args.gin_dim}",
        "writing": "rdkit_canonical" if variant in CANONICAL else "as_in_file", "mode": mode,
        "trainable_parameters": metrics["trainable_parameters"], "parameters": metrics["total_parameters"],
        "fit_cpu_s": fit_cpu, "fit_wall_s": fit_wall,
        "spread": {"molecules": spread.molecules, "views": spread.views, **{t: s for t, s in spread.per_task.items()}},
    }  # fmt: skip


def canonically_written(dataset: str):
    """The MoleculeNet table of ``dataset`` with every SMILES replaced by RDKit's canonical SMILES of its molecule.

    Row order is kept, so the kept molecules and the scaffold split (scaffolds of the same molecules, ties broken
    by row) are those of the file's writing; a SMILES RDKit cannot read stays as written (the fit skips it as before).
    """
    import dataclasses

    from molssl.data.labeled_source import load_labeled_table
    from molssl.text.randomize import canonical_smiles

    table = load_labeled_table(dataset, None, None, None)

    def rewrite(smiles: str) -> str:
        try:
            return canonical_smiles(smiles)
        except ValueError:
            return smiles

    return dataclasses.replace(table, smiles=[rewrite(s) for s in table.smiles])


def written_kekule(tokens: list[str], aromatic: bool) -> bool:
    """Whether an aromatic molecule is written with no aromatic (lower-case) atom token, i.e. in a Kekule form."""
    return aromatic and not any(t.lstrip("[").lstrip("0123456789")[:1].islower() for t in tokens)


def writing_rules(dataset: str) -> list[dict]:
    """ROC-AUC of rules that read only how molecules are written, per task, on the benchmark's split.

    The molecules and scaffold split are ``PropertyPredictor.fit``'s for a text model (the same featurization check
    and splitter). A task whose part holds one class only gets no AUC (None).
    """
    import re

    import numpy as np
    from rdkit import Chem
    from sklearn.metrics import roc_auc_score

    from molssl.chem.schemes import get_spec
    from molssl.data.labeled import featurize_table
    from molssl.data.labeled_source import load_labeled_table
    from molssl.data.splits_registry import get_splitter
    from molssl.text.inputs import CHECK_SCHEME
    from molssl.text.tokenizer import tokenize

    table = load_labeled_table(dataset, None, None, None)
    if table.task_type != "classification":
        raise ValueError(f"{dataset}: writing rules score classification tasks (ROC-AUC); its task type is {table.task_type}")
    kept = featurize_table(table, get_spec(CHECK_SCHEME).name, on_error="skip").indices
    labels = table.labels[kept]
    smiles = [table.smiles[i] for i in kept.tolist()]
    split = get_splitter("scaffold")(smiles, labels, seed=0, sanitize="strict", frac_train=0.8, frac_valid=0.1, frac_test=0.1)
    protonated = re.compile(r"^\[[^\]]*H\d*\+\]$")
    rules = {
        "kekule_written_aromatic": [written_kekule(tokenize(s), any(a.GetIsAromatic() for a in Chem.MolFromSmiles(s).GetAtoms()))
                                    for s in smiles],
        "protonated_bracket_atom": [any(protonated.match(t) for t in tokenize(s)) for s in smiles],
    }  # fmt: skip
    rows = []
    for rule, flags in rules.items():
        score = np.asarray(flags, dtype=float)
        for task, name in enumerate(table.task_names):
            row = {"dataset": dataset, "rule": rule, "task": name, "molecules_flagged": int(score.sum()),
                   "positives_among_flagged": int(np.nansum(labels[score == 1, task])), "molecules": len(smiles)}  # fmt: skip
            for part, rows_of_part in (("valid", split.valid), ("test", split.test)):
                y, s = labels[rows_of_part, task], score[rows_of_part]
                known = ~np.isnan(y)
                auc = roc_auc_score(y[known], s[known]) if len(set(y[known].tolist())) == 2 else None
                row[f"{part}_roc_auc_flag_is_positive"] = auc
            rows.append(row)
    return rows


def report(args: argparse.Namespace) -> None:
    """Markdown tables: median test metric over seeds (min-max, n), each variant's per-seed change against the same-seed
    ``text_scratch`` row (signed so that + is better), and the median randomized-SMILES spread."""
    rows = [r for r in recorded(SUITE) if r["epochs"] == args.epochs and r["pretrain_steps"] in (0, args.pretrain_steps)]
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in rows)]
    print(f"| dataset | metric | {' | '.join(variants)} |")
    print("|---|---|" + "---|" * len(variants))
    for dataset in DATASETS:
        here = [r for r in rows if r["dataset"] == dataset]
        if not here:
            continue
        metric = here[0]["metric"]
        sign = 1.0 if metric in ("roc_auc", "pr_auc", "r2") else -1.0
        scratch = {r["seed"]: r["test_at_best_valid"] for r in here if r["variant"] == "text_scratch"}
        cells = []
        for variant in variants:
            mine = sorted((r for r in here if r["variant"] == variant), key=lambda r: r["seed"])
            if not mine:
                cells.append("-")
                continue
            values = [r["test_at_best_valid"] for r in mine]
            cell = f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f}, n={len(mine)})"
            gains = [sign * (r["test_at_best_valid"] - scratch[r["seed"]]) for r in mine if r["seed"] in scratch]
            if variant not in ("gin", "text_scratch") and gains:
                cell += " [" + "/".join(f"{g:+.3f}" for g in gains) + "]"
            spreads = [statistics.mean(s["mean_std"] for s in r["spread"].values() if isinstance(s, dict)) for r in mine]
            cells.append(f"{cell}; spread {statistics.median(spreads):.3f}")
        print(f"| {dataset} | {metric} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--size", default="tiny", help="SMILES transformer preset (tiny, small, chemberta)")
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--pretrain-batch", type=int, default=64)
    parser.add_argument("--descriptor-molecules", type=int, default=6400,
                        help="smiles_descriptors pretrains on the first N MOSES molecules (all 217 RDKit descriptors each)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--gin-layers", type=int, default=3)
    parser.add_argument("--gin-dim", type=int, default=64)
    parser.add_argument("--spread-molecules", type=int, default=50)
    parser.add_argument("--spread-views", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--plan", action="store_true", help="list the runs not recorded yet")
    parser.add_argument("--report", action="store_true", help="print the Markdown table of the recorded rows")
    parser.add_argument("--writing-rules", action="store_true",
                        help="record the ROC-AUC of writing-only rules (Kekule form, protonated atoms) on each dataset's split")
    args = parser.parse_args()
    if args.report:
        return report(args)
    if args.writing_rules:
        command = "python benchmarks/text_transfer.py " + shlex.join(sys.argv[1:])
        for dataset in args.datasets:
            rows = writing_rules(dataset)
            append_rows(f"{SUITE}_writing_rules", rows, command)
            for row in rows:
                print(row, flush=True)
        return
    runs = [(v, d, s) for d in args.datasets for s in args.seeds for v in args.variants]  # variants of one (d, s) together
    done = {(r["variant"], r["dataset"], r["seed"]) for r in recorded(SUITE)
            if r["epochs"] == args.epochs and r["pretrain_steps"] in (0, args.pretrain_steps)}  # fmt: skip
    todo = todo_or_plan(runs, done, args.plan)
    if not todo:
        return
    command = "python benchmarks/text_transfer.py " + shlex.join(sys.argv[1:])
    for task in todo:
        row = run_one(*task, args)
        append_rows(SUITE, [row], command)
        print(row, flush=True)


if __name__ == "__main__":
    main()
