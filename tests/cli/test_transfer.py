"""``molssl transfer``: runs in worker processes, reports, resumes from the recorded experiment, refuses another one."""

from __future__ import annotations

import json

import pytest

from molssl.cli.main import main
from molssl.tasks.transfer import FinetuneJob, finetune_row, load_transfer_config, read_rows

SMALL = ["--num-layers", "2", "--emb-dim", "32", "--batch-size", "128", "--no-progress"]


def _run(out, *extra: str) -> int:
    return main(["transfer", "--methods", "none", "--datasets", "bace", "--epochs", "1", "--seeds", "0", "1", "--out", str(out),
                 *SMALL, *extra])  # fmt: skip


def test_transfer_runs_reports_and_resumes(tmp_path, capsys):
    out = tmp_path / "exp"
    code = _run(out)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = read_rows(out)
    assert sorted((r["variant"], r["dataset"], r["seed"]) for r in rows) == [("none", "bace", 0), ("none", "bace", 1)]
    assert "| none | 0 | 0 | " in captured.out and "test ROC-AUC (%) at the last epoch" in captured.out
    assert (out / "table.md").read_text() in captured.out and (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    config = load_transfer_config(out)
    assert config.encoder == {"num_layers": 2, "emb_dim": 32} and config.finetune_batch_size == 128

    (out / "table.md").unlink()
    before = (out / "rows.jsonl").read_text()
    assert main(["transfer", "--out", str(out), "--report"]) == 0
    assert (out / "table.md").is_file() and "| none | 0 | 0 | " in capsys.readouterr().out
    # a rerun with no options continues the recorded experiment: nothing left to do
    assert main(["transfer", "--out", str(out), "--no-progress"]) == 0
    assert (out / "rows.jsonl").read_text() == before

    code = main(["transfer", "--out", str(out), "--epochs", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "holds a transfer experiment with another configuration" in err and "epochs: 1 -> 2" in err
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 1


@pytest.mark.slow
def test_worker_processes_compute_what_one_process_computes(tmp_path):
    """--jobs 2: rows from spawned workers (one thread each) equal rows computed here (slow: workers import torch)."""
    assert _run(tmp_path / "pool", "--jobs", "2") == 0
    config = load_transfer_config(tmp_path / "pool")
    numbers = ("test_at_best_valid", "valid_at_best", "best_epoch", "test_at_last_epoch", "valid_at_last_epoch")
    for row in read_rows(tmp_path / "pool"):
        here = finetune_row(FinetuneJob(config, "none", 0, "bace", row["seed"], None))
        assert {k: here[k] for k in numbers} == {k: row[k] for k in numbers}


def test_unknown_variant_lists_the_valid_ones(tmp_path, capsys):
    code = main(["transfer", "--variants", "none", "edge_pred+attr_masking", "--out", str(tmp_path / "exp"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown transfer variant 'edge_pred+attr_masking'" in err
    assert "valid variants: none, attr_masking," in err and "descriptors+attr_masking" in err
    assert not (tmp_path / "exp").exists()


def test_report_of_an_empty_directory_is_an_error(tmp_path, capsys):
    assert main(["transfer", "--out", str(tmp_path), "--report"]) == 2
    assert "no rows" in capsys.readouterr().err
