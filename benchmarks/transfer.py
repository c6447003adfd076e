"""Transfer at CPU scale: pretrain on MOSES molecules, fine-tune on MoleculeNet, vs no pretraining.

Protocol (a reduced form of Hu et al., ICLR 2020, Table 1):
  pretraining: each method on the embedded 50,000-molecule MOSES sample (Hu et al.: 2M ZINC15
    molecules, 100 epochs), GIN 5 x 300 (JK last, no dropout), Adam 1e-3, batch 256, ``--pretrain-steps``
    steps (default 195 = one epoch), seed 0;
  fine-tuning: BBBP, BACE, ClinTox, SIDER with the deterministic scaffold split 80/10/10, GIN with mean
    readout and dropout 0.5, Adam 1e-3, batch 32, ``--epochs`` epochs (Hu et al.: 100), seeds 0..N-1;
    the test ROC-AUC at the best-validation epoch is reported (selection on validation only), and the
    same seeds and splits are used for every method including ``none`` (no pretraining).

The experiment is the library's (``molssl.tasks.transfer``, also ``molssl transfer``), whose defaults
are this protocol; it runs in ``_work/transfer/epochs-<E>/``. This script keeps the suite's record:
each finished fine-tuning run is appended to ``results/transfer.jsonl`` in the suite's row format (each
pretraining to ``results/transfer_pretrain.jsonl``), and the runs recorded there are skipped, so a
killed benchmark continues and the recorded history stays one comparable table.

Run:
    python benchmarks/transfer.py --methods none attr_masking context_pred edge_pred infomax --jobs 2
    python benchmarks/transfer.py --table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, append_rows, command_line  # noqa: E402
from molssl.eval.literature import TRANSFER_ROC_AUC as HU_TABLE  # noqa: E402, F401  (Hu et al. 2020 Table 1; Hou et al. 2022)

SUITE = "transfer"
WORK = ROOT / "benchmarks" / "_work" / "transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider"]
CORPUS = "embedded MOSES 50k"
BATCH_SIZE = 256


def recorded() -> list[dict]:
    path = RESULTS / f"{SUITE}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _key(row: dict) -> tuple:
    return row["method"], row["pretrain_steps"], row["dataset"], row["seed"], row["epochs"]


def suite_row(row: dict) -> dict:
    """A library row in this suite's format (the format of the recorded history)."""
    pretrained = row["variant"] != "none"
    return {
        "what": "transfer", "method": row["variant"], "pretrain_steps": row["pretrain_steps"],
        "pretrain_corpus": CORPUS if pretrained else None, "dataset": row["dataset"], "seed": row["seed"],
        "epochs": row["epochs"], "metric": row["metric"], "test_at_best_valid": row["test_at_best_valid"],
        "valid_at_best": row["valid_at_best"], "best_epoch": row["best_epoch"],
        "test_at_last_epoch": row["test_at_last_epoch"], "minutes": row["minutes"],
    }  # fmt: skip


def table(rows: list[dict]) -> str:
    """The library's report (``molssl.tasks.transfer_report``) of the recorded rows, one per fine-tuning length."""
    from molssl.tasks.transfer_report import transfer_table

    parts = []
    for epochs in sorted({r["epochs"] for r in rows}):
        group = [{**r, "variant": r["method"], "graphs_seen": r["pretrain_steps"] * BATCH_SIZE} for r in rows if r["epochs"] == epochs]
        parts += [f"#### {epochs} fine-tuning epochs", "", transfer_table(group)]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["none", "attr_masking", "context_pred", "edge_pred", "infomax"])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs (Hu et al.: 100)")
    parser.add_argument("--pretrain-steps", type=int, default=195, help="pretraining steps of 256 molecules (195 = one epoch of 50k)")
    parser.add_argument("--jobs", type=int, default=2, help="fine-tuning processes, one thread each")
    parser.add_argument("--table", action="store_true", help="only print the table of recorded rows")
    args = parser.parse_args()
    if args.table:
        print(table(recorded()))
        return
    from molssl.tasks.transfer import run_transfer
    from molssl.tasks.transfer_config import TransferConfig

    command = command_line()
    config = TransferConfig(variants=tuple(args.methods), datasets=tuple(args.datasets), pretrain_steps=(args.pretrain_steps,),
                            epochs=args.epochs, seeds=tuple(args.seeds), pretrain_batch_size=BATCH_SIZE)  # fmt: skip
    done = {(m, steps, d, s) for m, steps, d, s, epochs in map(_key, recorded()) if epochs == args.epochs}

    def record(event: dict) -> None:
        if event["event"] == "pretrained":
            info = {"method": event["variant"], "encoder_dir": event["encoder_dir"], "steps": event["steps"],
                    "first_loss": event["first_loss"], "final_loss": event["final_loss"], "minutes": event["minutes"]}  # fmt: skip
            append_rows(SUITE + "_pretrain", [info], command)
            print(json.dumps(info), flush=True)
        elif event["event"] == "row":
            row = suite_row(event["row"])
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
        else:
            print(f"{event['todo']} fine-tuning runs to do ({len(done)} recorded); {args.jobs} jobs x 1 thread", flush=True)

    run_transfer(config, WORK / f"epochs-{args.epochs}", jobs=args.jobs, progress=record, exclude=done)
    print(table(recorded()))


if __name__ == "__main__":
    main()
