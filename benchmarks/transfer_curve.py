"""Compute vs. gain (issue 13): transfer after longer and longer pretraining on the full MOSES corpus.

For none, attr_masking, graphmae, descriptors and descriptors+attr_masking (descriptor prediction with
attribute masking on the same encoder, weight 1): pretrain a GIN 5 x 300 (JK last) on the MOSES training
set (1,584,663 molecules, ``benchmarks/get_moses.py``), batch 256, Adam 1e-3 at a constant rate, bf16
autocast, seed 0, one run per variant resumed through 200, 1,000 and 5,000 steps (51,200 to 1.28M
graphs seen: under one epoch); fine-tune each snapshot on BBBP, BACE, ClinTox and SIDER (deterministic
scaffold split 80/10/10, mean readout, dropout 0.5, Adam 1e-3, batch 32, 20 epochs, seeds 0, 1, 2) and
plot the average test ROC-AUC at the best-validation epoch against pretraining graphs seen.

The experiment is the library's (``molssl.tasks.transfer``) in ``_work/transfer_curve/`` (config.json,
pretrain/<variant>/ with encoder-<steps>/ snapshots, rows.jsonl, table.md, curve.png); each finished row
is also appended to ``results/transfer_curve.jsonl`` with the environment. It resumes after any
interruption: rerun the same command (the experiment directory's rows.jsonl decides what is done). In a
fresh checkout (no ``_work/``) the rows recorded in ``results/transfer_curve.jsonl`` under the same
experiment key are adopted first, so only the missing rows run (their snapshots pretrained again, bitwise).
More lengths or seeds can be added later (``--pretrain-steps 200 1000 5000 20000``).

A CPU-sized version (a smaller encoder, the embedded 50k sample, fewer sets and epochs) goes to its own
``--out`` directory; each row records its command and encoder size, so the two are never mixed.

Run (a GPU machine pretrains on the GPU while CPU workers fine-tune):
    python benchmarks/get_moses.py
    nohup python benchmarks/transfer_curve.py --jobs 14 --workers 14 > benchmarks/_work/transfer_curve.log 2>&1 &
    python benchmarks/transfer_curve.py --report
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.get_moses import OUT as MOSES  # noqa: E402
from benchmarks.record import append_rows, command_line, recorded  # noqa: E402
from molssl.pretrain.config import PRECISIONS  # noqa: E402

SUITE = "transfer_curve"
WORK = ROOT / "benchmarks" / "_work" / SUITE
VARIANTS = ["none", "attr_masking", "graphmae", "descriptors", "descriptors+attr_masking"]
DATASETS = ["bbbp", "bace", "clintox", "sider"]


def corpus_subset(corpus: Path | None, rows: int, sample_seed: int | None = None) -> Path:
    """``corpus``'s header and ``rows`` of its molecules as a file in ``_work/`` (written once, atomically): the
    first ``rows`` (``<name>.first<rows><suffixes>``), or with ``sample_seed`` a uniform sample without
    replacement drawn with that seed, in file order (``<name>.sample<rows>s<seed><suffixes>``).

    The first rows are not a sample of a file that is not shuffled: MOSES's training file is not (the share of
    molecules with an aliphatic sulfur falls from 28% in its first 100,000 rows to 13% in its last).
    """
    import gzip
    import itertools

    import numpy as np

    option = "--corpus-rows" if sample_seed is None else "--corpus-sample"
    if corpus is None or rows < 1:
        raise SystemExit(f"{option} needs a corpus file and a positive number of rows")
    suffixes = "".join(corpus.suffixes)
    kind = f"first{rows}" if sample_seed is None else f"sample{rows}s{sample_seed}"
    out = ROOT / "benchmarks" / "_work" / f"{corpus.name[: -len(suffixes)]}.{kind}{suffixes}"
    if out.exists():
        return out
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rt") as fh:
        header = next(fh) if corpus.name.endswith((".csv", ".csv.gz")) else ""
        lines = list(itertools.islice(fh, rows)) if sample_seed is None else fh.readlines()
    if len(lines) < rows:
        raise SystemExit(f"{corpus}: {len(lines)} molecules, fewer than {option} {rows}")
    if sample_seed is not None:
        keep = np.sort(np.random.default_rng(sample_seed).choice(len(lines), size=rows, replace=False))
        lines = [lines[i] for i in keep.tolist()]
    tmp = out.with_name(out.name + ".tmp")
    with opener(tmp, "wt") as fh:
        fh.write(header + "".join(lines))
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--pretrain-steps", type=int, nargs="+", default=[200, 1000, 5000], help="increasing; steps of 256")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20, help="fine-tuning epochs")
    parser.add_argument("--precision", default="bf16", choices=PRECISIONS, help="pretraining precision")
    parser.add_argument("--num-layers", type=int, default=None, help="encoder layers (default: the loop's GIN, 5)")
    parser.add_argument("--emb-dim", type=int, default=None, help="encoder width (default: the loop's GIN, 300)")
    parser.add_argument("--corpus", default=str(MOSES), help="pretraining molecules ('embedded': the 50,000-molecule sample)")
    subset = parser.add_mutually_exclusive_group()
    subset.add_argument("--corpus-rows", type=int, default=None, metavar="N",
                        help="pretrain on the corpus's first N molecules only (written to _work/ once): descriptor "
                             "targets are computed for every corpus molecule (~8 CPU-ms each), so N = 256,000 is one "
                             "pass at 1,000 steps of 256 instead of 3.6 CPU-hours of descriptors for all 1.58M. The "
                             "first rows of a file that is not shuffled (MOSES's is not) are not a sample of it: "
                             "prefer --corpus-sample")
    subset.add_argument("--corpus-sample", type=int, default=None, metavar="N",
                        help="pretrain on N molecules drawn uniformly from the corpus (seed --corpus-seed, file "
                             "order kept; written to _work/ once)")
    parser.add_argument("--corpus-seed", type=int, default=0, help="seed of --corpus-sample's draw")
    parser.add_argument("--jobs", type=int, default=2, help="fine-tuning processes, one thread each")
    parser.add_argument("--workers", type=int, default=2, help="featurization processes (store and descriptor targets)")
    parser.add_argument("--device", default="auto", help="pretraining device")
    parser.add_argument("--out", type=Path, default=WORK, help="experiment directory")
    parser.add_argument("--report", action="store_true", help="only rewrite table.md and curve.png and print the table")
    args = parser.parse_args()
    from molssl.tasks.transfer_report import write_transfer_report

    if not args.report:
        from molssl.tasks.transfer import adopt_rows, run_transfer
        from molssl.tasks.transfer_config import TransferConfig

        corpus = None if args.corpus == "embedded" else Path(args.corpus).resolve()
        if corpus is not None and not corpus.exists():
            raise SystemExit(f"{corpus}: no such file; fetch the full MOSES training set with `python benchmarks/get_moses.py`, "
                             "or pass --corpus embedded for the 50,000-molecule sample")  # fmt: skip
        if args.corpus_rows is not None:
            corpus = corpus_subset(corpus, args.corpus_rows)
        elif args.corpus_sample is not None:
            corpus = corpus_subset(corpus, args.corpus_sample, sample_seed=args.corpus_seed)
        encoder = {k: v for k, v in (("num_layers", args.num_layers), ("emb_dim", args.emb_dim)) if v is not None}
        config = TransferConfig(variants=tuple(args.variants), datasets=tuple(args.datasets), pretrain_steps=tuple(args.pretrain_steps),
                                epochs=args.epochs, seeds=tuple(args.seeds), precision=args.precision,
                                corpus=None if corpus is None else str(corpus), workers=args.workers, pretrain_device=args.device,
                                encoder=encoder)  # fmt: skip
        command = command_line()
        label = "embedded MOSES 50k" if corpus is None else corpus.name
        arch = config.scratch_encoder()
        size = {"encoder": f"{arch.conv} {arch.num_layers}x{arch.emb_dim}"}

        def record(event: dict) -> None:
            if event["event"] == "plan":
                print(f"{event['todo']} fine-tuning runs to do ({event['recorded']} recorded); {args.jobs} jobs x 1 thread", flush=True)
                return
            row = event["row"] if event["event"] == "row" else {k: v for k, v in event.items() if k != "event"}
            append_rows(SUITE, [{"what": SUITE if event["event"] == "row" else f"{SUITE}_pretrain", "corpus": label, **size, **row}], command)
            print({k: row[k] for k in row if k not in ("method_options", "molssl_version")}, flush=True)

        # a fresh checkout has no _work/: the rows this experiment recorded in results/ are adopted, not rerun
        adopted = adopt_rows(args.out, config, [r for r in recorded(SUITE) if r.get("what") == SUITE])
        if adopted:
            print(f"{adopted} rows of this experiment adopted from results/{SUITE}.jsonl", flush=True)
        run_transfer(config, args.out, jobs=args.jobs, progress=record, pretrain_progress_bar=False)
    table, curve = write_transfer_report(args.out)
    print(table.read_text(), end="")
    print(f"wrote {table} and {curve}")


if __name__ == "__main__":
    main()
