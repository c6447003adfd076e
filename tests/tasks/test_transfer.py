"""The transfer experiment: real pretraining on MOSES molecules, real fine-tuning on BACE, resumable rows, report."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

import pytest
import torch

import molssl.tasks.transfer as transfer
from molssl.data.corpus import read_smiles_file
from molssl.data.embedded import default_corpus
from molssl.data.store_build import build_store
from molssl.nn.pretrained import load_encoder
from molssl.pretrain import pretrain
from molssl.pretrain.run_dir import RunDirectoryError
from molssl.tasks.transfer import adopt_rows, read_rows, row_key, run_transfer
from molssl.tasks.transfer_config import TransferConfig, resolve_variant
from molssl.tasks.transfer_report import paired_table, summarize, transfer_curve_plot, transfer_table, write_transfer_report

SMALL = {"num_layers": 2, "emb_dim": 32}
#: what a row's numbers are; the rest (minutes) depends on the machine's load
NUMBERS = ("test_at_best_valid", "valid_at_best", "best_epoch", "test_at_last_epoch", "valid_at_last_epoch", "graphs_seen")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    """A store of the first 300 molecules of the embedded MOSES sample."""
    tmp = tmp_path_factory.mktemp("corpus")
    path = tmp / "moses_300.smi"
    path.write_text("smiles\n" + "\n".join(read_smiles_file(default_corpus()).smiles[:300]) + "\n")
    return str(build_store(path, scheme="hu", cache_dir=tmp / "stores").path)


def small(corpus: str, **overrides) -> TransferConfig:
    options = dict(variants=("none", "attr_masking"), datasets=("bace",), pretrain_steps=(2, 4), epochs=1, seeds=(0, 1),
                   encoder=SMALL, pretrain_batch_size=32, finetune_batch_size=128, corpus=corpus, pretrain_device="cpu")  # fmt: skip
    return TransferConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def experiment(corpus, tmp_path_factory):
    """One finished experiment: none + attr_masking after 2 and 4 steps, BACE, seeds 0 and 1 (6 rows)."""
    out = tmp_path_factory.mktemp("transfer") / "exp"
    events = []
    returned = run_transfer(small(corpus), out, progress=events.append)
    return out, returned, events


class Counting:
    """Wraps a function of ``molssl.tasks.transfer`` and records its calls."""

    def __init__(self, monkeypatch, name: str, stub=None) -> None:
        self.calls: list = []
        real = getattr(transfer, name)

        def wrapper(*args, **kwargs):
            self.calls.append((args, kwargs))
            return (stub or real)(*args, **kwargs)

        monkeypatch.setattr(transfer, name, wrapper)


def _numbers(row: dict) -> dict:
    return {k: row[k] for k in NUMBERS}


def test_rows_are_complete(experiment):
    out, returned, events = experiment
    rows = read_rows(out)
    assert rows == returned and len(rows) == 6
    assert sorted(row_key(r) for r in rows) == sorted(
        [("none", 0, "bace", s) for s in (0, 1)] + [("attr_masking", k, "bace", s) for k in (2, 4) for s in (0, 1)]
    )
    for r in rows:
        assert r["graphs_seen"] == 32 * r["pretrain_steps"] and r["epochs"] == 1 and r["metric"] == "roc_auc"
        assert r["method"] == (None if r["variant"] == "none" else "attr_masking")
        assert 0 < r["test_at_best_valid"] < 1 and 0 < r["valid_at_best"] < 1 and 0 < r["test_at_last_epoch"] < 1
        assert r["best_epoch"] == 1 and r["test_at_best_valid"] == r["test_at_last_epoch"]  # one epoch: best is last
        assert r["minutes"] > 0
    # fine-tuning depends on the pretrained weights: the three encoders give three different results
    assert len({r["test_at_best_valid"] for r in rows if r["seed"] == 0}) == 3
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and events[0]["todo"] == 6 and kinds.count("row") == 6
    pretrained = [e for e in events if e["event"] == "pretrained"]
    assert [(e["steps"], e["resumed_from"]) for e in pretrained] == [(2, 0), (4, 2)]
    assert (out / "pretrain" / "attr_masking" / "encoder-2" / "config.json").is_file()
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["format"] == "molssl-transfer" and TransferConfig.from_dict(recorded["config"]) == small(str(recorded["config"]["corpus"]))


def test_snapshots_equal_direct_runs(experiment, corpus, tmp_path):
    out, _, _ = experiment
    config = small(corpus)
    snapshots = {k: load_encoder(out / "pretrain" / "attr_masking" / f"encoder-{k}").state_dict() for k in (2, 4)}
    assert not all(torch.equal(snapshots[2][n], snapshots[4][n]) for n in snapshots[2])
    for steps in (2, 4):
        direct = pretrain("attr_masking", corpus, tmp_path / f"direct-{steps}", train=config.pretrain_config(steps), encoder=SMALL)
        weights = load_encoder(direct.encoder_dir).state_dict()
        assert all(torch.equal(weights[n], snapshots[steps][n]) for n in weights), steps


def test_rerun_recomputes_nothing(experiment, corpus, monkeypatch):
    out, _, _ = experiment
    before = (out / "rows.jsonl").read_text()
    finetunes, pretrains = Counting(monkeypatch, "finetune_row"), Counting(monkeypatch, "pretrain")
    assert run_transfer(small(corpus), out) == []
    assert finetunes.calls == [] and pretrains.calls == []
    assert (out / "rows.jsonl").read_text() == before


def test_an_interrupted_run_resumes(experiment, corpus, tmp_path, monkeypatch):
    config = small(corpus, variants=("attr_masking",), seeds=(0,))
    out = tmp_path / "exp"

    def kill_after_first_pretrained_row(event):
        if event["event"] == "row" and event["row"]["variant"] == "attr_masking":
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        run_transfer(config, out, progress=kill_after_first_pretrained_row)
    assert [row_key(r) for r in read_rows(out)] == [("attr_masking", 2, "bace", 0)]
    with open(out / "rows.jsonl", "a") as fh:
        fh.write('{"variant": "attr_mas')  # a kill in the middle of writing a row
    finetunes, pretrains = Counting(monkeypatch, "finetune_row"), Counting(monkeypatch, "pretrain")
    events = []
    new = run_transfer(config, out, progress=events.append)
    assert [row_key(r) for r in new] == [("attr_masking", 4, "bace", 0)]
    assert len(finetunes.calls) == 1 and len(pretrains.calls) == 1
    assert [(e["steps"], e["resumed_from"]) for e in events if e["event"] == "pretrained"] == [(4, 2)]
    rows = read_rows(out)
    assert len(rows) == 2 and (out / "rows.jsonl").read_text().endswith("}\n")
    # the interrupted experiment computed exactly the rows of the uninterrupted one
    reference = {row_key(r): _numbers(r) for r in read_rows(experiment[0]) if r["seed"] == 0 and r["variant"] != "none"}
    assert {row_key(r): _numbers(r) for r in rows} == reference


def test_a_different_config_is_refused(experiment, corpus):
    out, _, _ = experiment
    before = (out / "config.json").read_text()
    with pytest.raises(RunDirectoryError, match=r"another configuration.*differs in epochs \(epochs: 1 -> 2\)"):
        run_transfer(small(corpus, epochs=2), out)
    with pytest.raises(RunDirectoryError, match=r"variant_options\['attr_masking'\]"):
        run_transfer(small(corpus, variant_options={"attr_masking": {"mask_rate": 0.3}}), out)
    assert (out / "config.json").read_text() == before


def test_more_seeds_extend_the_experiment(experiment, corpus, tmp_path, monkeypatch):
    out = tmp_path / "exp"
    shutil.copytree(experiment[0], out)
    stub = lambda job: {"variant": job.variant, "pretrain_steps": job.pretrain_steps, "dataset": job.dataset,  # noqa: E731
                        "seed": job.seed, "test_at_best_valid": 0.5, "test_at_last_epoch": 0.5}  # fmt: skip
    finetunes, pretrains = Counting(monkeypatch, "finetune_row", stub), Counting(monkeypatch, "pretrain")
    run_transfer(small(corpus, seeds=(2,)), out)
    assert sorted(args[0].key for args, _ in finetunes.calls) == [("attr_masking", 2, "bace", 2), ("attr_masking", 4, "bace", 2),
                                                                    ("none", 0, "bace", 2)]  # fmt: skip
    assert pretrains.calls == []  # the snapshots serve the new seed
    assert [args[0].encoder_dir for args, _ in finetunes.calls if args[0].variant != "none"] == [
        str(out / "pretrain" / "attr_masking" / f"encoder-{k}") for k in (2, 4)]  # fmt: skip
    assert load_transfer_seeds(out) == [0, 1, 2]
    # a length the run has passed without a snapshot cannot be added
    with pytest.raises(RunDirectoryError, match="pretrained 4 steps, past 3, and holds no encoder-3"):
        run_transfer(small(corpus, pretrain_steps=(2, 3, 4)), out)


def test_rows_recorded_elsewhere_continue_in_a_fresh_directory(experiment, corpus, tmp_path, monkeypatch):
    out, _, _ = experiment
    rows = [{**r, "command": "python benchmarks/transfer_curve.py", "date": "then"} for r in read_rows(out)]
    config = small(corpus)
    assert all(r["experiment"] == config.experiment_key() for r in rows)
    # another checkout: the corpus at another path is the same experiment; rows of other experiments are not adopted
    moved = small(str(tmp_path / "elsewhere" / Path(corpus).name))
    assert moved.experiment_key() == config.experiment_key()
    other = [{**rows[0], "experiment": small(corpus, epochs=2).experiment_key(), "seed": 7},
             {k: v for k, v in rows[1].items() if k != "experiment"} | {"seed": 8},
             {**rows[2], "method_options": {"mask_rate": 0.3}, "seed": 9}]  # fmt: skip
    fresh = tmp_path / "fresh"
    assert adopt_rows(fresh, config, rows + other) == 6
    assert adopt_rows(fresh, config, rows) == 0  # already there
    assert sorted(map(row_key, read_rows(fresh))) == sorted(map(row_key, rows))
    finetunes, pretrains = Counting(monkeypatch, "finetune_row"), Counting(monkeypatch, "pretrain")
    assert run_transfer(config, fresh) == [] and finetunes.calls == [] and pretrains.calls == []
    # a seed added later fine-tunes only the new rows, pretraining the snapshots again (bitwise the same)
    stub = lambda job: {"variant": job.variant, "pretrain_steps": job.pretrain_steps, "dataset": job.dataset,  # noqa: E731
                        "seed": job.seed, "test_at_best_valid": 0.5, "test_at_last_epoch": 0.5, "dir": job.encoder_dir}  # fmt: skip
    finetunes = Counting(monkeypatch, "finetune_row", stub)
    run_transfer(small(corpus, seeds=(2,)), fresh)
    assert sorted(args[0].key for args, _ in finetunes.calls) == [("attr_masking", 2, "bace", 2), ("attr_masking", 4, "bace", 2),
                                                                    ("none", 0, "bace", 2)]  # fmt: skip
    again = load_encoder(fresh / "pretrain" / "attr_masking" / "encoder-4").state_dict()
    before = load_encoder(out / "pretrain" / "attr_masking" / "encoder-4").state_dict()
    assert all(torch.equal(again[n], before[n]) for n in before)


def load_transfer_seeds(out) -> list[int]:
    return json.loads((out / "config.json").read_text())["config"]["seeds"]


def test_combined_variant_pretrains_both_objectives(corpus, tmp_path, monkeypatch):
    assert resolve_variant("descriptors+attr_masking") == ("descriptors", {"attr_masking_weight": 1.0})
    stub = lambda job: {"variant": job.variant, "pretrain_steps": job.pretrain_steps, "dataset": job.dataset,  # noqa: E731
                        "seed": job.seed, "test_at_best_valid": 0.5, "test_at_last_epoch": 0.5}  # fmt: skip
    Counting(monkeypatch, "finetune_row", stub)
    config = small(corpus, variants=("descriptors+attr_masking",), pretrain_steps=(1,), seeds=(0,),
                   variant_options={"descriptors+attr_masking": {"descriptors": ["MolWt", "TPSA"]}})  # fmt: skip
    run_transfer(config, tmp_path / "exp")
    run = json.loads((tmp_path / "exp" / "pretrain" / "descriptors+attr_masking" / "config.json").read_text())
    assert run["method"] == "descriptors"
    assert run["method_config"]["attr_masking_weight"] == 1.0 and run["method_config"]["descriptors"] == ["MolWt", "TPSA"]


def test_unknown_variants_and_bad_configs_are_explained():
    with pytest.raises(ValueError, match="unknown transfer variant 'graphmae\\+attr_masking'; valid variants: none, attr_masking, ") as info:
        TransferConfig(variants=("none", "graphmae+attr_masking"))
    assert "descriptors+attr_masking" in str(info.value) and "context_pred" in str(info.value)
    with pytest.raises(ValueError, match="pretrain_steps must increase"):
        TransferConfig(pretrain_steps=(1000, 200))
    with pytest.raises(ValueError, match="'esol' is a regression set"):
        TransferConfig(datasets=("bbbp", "esol"))
    with pytest.raises(ValueError, match="unknown AttributeMaskingConfig options \\['mask_ratio'\\]"):
        TransferConfig(variant_options={"attr_masking": {"mask_ratio": 0.2}})
    with pytest.raises(ValueError, match="not among the variants"):
        TransferConfig(variant_options={"graphmae": {"mask_rate": 0.2}})


def test_table_equals_a_hand_computation(experiment):
    rows = read_rows(experiment[0])
    table = transfer_table(rows)
    best = {}
    for variant, steps in (("none", 0), ("attr_masking", 2), ("attr_masking", 4)):
        values = [100 * r["test_at_best_valid"] for r in rows if (r["variant"], r["pretrain_steps"]) == (variant, steps)]
        best[variant, steps] = (statistics.mean(values), statistics.stdev(values))
        cell = f"{best[variant, steps][0]:.1f} +- {best[variant, steps][1]:.1f} (2)"
        assert f"| {variant} | {steps} | {32 * steps:,} | {cell} | {cell} |" in table  # one dataset: the average is its mean
    for steps in (2, 4):
        delta = best["attr_masking", steps][0] - best["none", 0][0]
        beyond = "yes" if abs(delta) > best["attr_masking", steps][1] and abs(delta) > best["none", 0][1] else "no"
        assert f"| {delta:+.1f} | {beyond} | 79.3 | 71.1 |" in table
    assert "test ROC-AUC (%) at the last epoch" in table and "Strategies for Pre-training Graph Neural Networks" in table


def test_table_averages_datasets_and_judges_the_difference():
    def row(variant, steps, dataset, seed, value):
        return {"variant": variant, "pretrain_steps": steps, "graphs_seen": 256 * steps, "dataset": dataset, "seed": seed,
                "test_at_best_valid": value, "test_at_last_epoch": value - 0.1, "metric": "roc_auc"}  # fmt: skip

    rows = [row("none", 0, "bbbp", 0, 0.60), row("none", 0, "bbbp", 1, 0.62), row("none", 0, "sider", 0, 0.50),
            row("none", 0, "sider", 1, 0.54), row("graphmae", 10, "bbbp", 0, 0.70), row("graphmae", 10, "bbbp", 1, 0.72),
            row("graphmae", 10, "bbbp", 2, 0.74), row("graphmae", 10, "sider", 0, 0.60), row("graphmae", 10, "sider", 1, 0.60)]  # fmt: skip
    none, graphmae = summarize(rows)
    # none: per-seed averages 55.0 and 58.0; graphmae: seeds 0 and 1 have both sets (65.0, 66.0), seed 2 only bbbp
    assert none["average"] == pytest.approx(56.5) and none["seed_std"] == pytest.approx(statistics.stdev([55.0, 58.0]))
    assert graphmae["average"] == pytest.approx((72.0 + 60.0) / 2) and graphmae["complete_seeds"] == 2
    assert graphmae["seed_std"] == pytest.approx(statistics.stdev([65.0, 66.0]))
    table = transfer_table(rows)
    assert "| graphmae | 10 | 2,560 | 72.0 +- 2.0 (3) | 60.0 +- 0.0 (2) | 66.0 +- 0.7 (2) | +9.5 | yes |  | 73.8 |" in table
    assert "| none | 0 | 0 | 61.0 +- 1.4 (2) | 52.0 +- 2.8 (2) | 56.5 +- 2.1 (2) |  |  | 61.5 | 67.0 |" in table
    rows[4]["test_at_best_valid"] = 0.30  # graphmae's seed 0 on bbbp: its seeds' averages (45.0, 66.0) now disagree
    # by more than the difference (+2.8), which still exceeds none's seed std (2.1): not beyond both
    assert "| graphmae | 10 | 2,560 | 58.7 +- 24.8 (3) | 60.0 +- 0.0 (2) | 59.3 +- 14.8 (2) | +2.8 | no |" in transfer_table(rows)


def test_paired_table_compares_each_cell_with_none_of_its_dataset_and_seed():
    def row(variant, steps, dataset, seed, test, valid):
        return {"variant": variant, "pretrain_steps": steps, "dataset": dataset, "seed": seed, "test_at_best_valid": test,
                "valid_at_best": valid}  # fmt: skip

    rows = [row("none", 0, "bbbp", 0, 0.60, 0.70), row("none", 0, "bbbp", 1, 0.62, 0.71), row("none", 0, "sider", 0, 0.50, 0.60),
            row("none", 0, "sider", 1, 0.54, 0.61), row("graphmae", 10, "bbbp", 0, 0.70, 0.80), row("graphmae", 10, "bbbp", 1, 0.58, 0.78),
            row("graphmae", 10, "sider", 0, 0.52, 0.70), row("graphmae", 10, "sider", 1, None, 0.70),
            row("graphmae", 10, "bace", 0, 0.90, 0.90)]  # fmt: skip
    lines = paired_table(rows)
    # seed 0: (+10 on bbbp, +2 on sider) / 2 = +6.0; seed 1: bbbp only (sider's test is null), -4.0; bace has no none row
    assert "| graphmae | 10 | +6.0 / -4.0 | 2 of 3 | 76.0 |" in lines
    assert lines[0] == "### paired with none (same dataset and seed), test at the best-validation epoch"
    assert paired_table([r for r in rows if r["variant"] != "none"]) == []
    assert "### paired with none" in transfer_table([{**r, "test_at_last_epoch": r["test_at_best_valid"], "graphs_seen": 0} for r in rows[:7]])


def test_curve_is_a_png(experiment, tmp_path):
    path = transfer_curve_plot(read_rows(experiment[0]), tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    table, curve = write_transfer_report(experiment[0])
    assert table.read_text().startswith("# Transfer") and curve.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no rows"):
        write_transfer_report(tmp_path)


def test_a_damaged_rows_file_names_the_line(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"variant": "none", "pretrain_steps": 0}\n')
    with pytest.raises(ValueError, match=r"rows.jsonl, line 1: not a transfer row \(missing \['dataset'"):
        read_rows(tmp_path)


def test_another_kind_of_directory_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"format": "molssl-pretrain-run", "method": "attr_masking"}))
    with pytest.raises(RunDirectoryError, match="not a transfer experiment \\(format 'molssl-pretrain-run'"):
        run_transfer(TransferConfig(variants=("none",), datasets=("bace",), epochs=1, seeds=(0,)), tmp_path)
    assert not (tmp_path / "rows.jsonl").exists()


def test_a_bad_corpus_is_an_error_before_any_fine_tuning(tmp_path, monkeypatch):
    finetunes = Counting(monkeypatch, "finetune_row")
    (tmp_path / "corpus.smi").write_bytes(b"smiles\nCCO\x00\x01\x02\n")
    with pytest.raises(ValueError, match="corpus.smi"):
        run_transfer(TransferConfig(datasets=("bace",), epochs=1, seeds=(0,), corpus=str(tmp_path / "corpus.smi")), tmp_path / "exp")
    assert finetunes.calls == []


def test_rows_queued_behind_busy_workers_are_all_computed(corpus, tmp_path, monkeypatch):
    """jobs > 1: the loop submits every row and then waits for all of them (it once cancelled those no worker had
    started, so a run ended 'successfully' with most of its rows missing)."""
    from concurrent.futures import ThreadPoolExecutor

    def quick_row(job):
        time.sleep(0.05)  # the one worker is still busy when the loop has queued the rest
        return {"variant": job.variant, "pretrain_steps": job.pretrain_steps, "dataset": job.dataset, "seed": job.seed,
                "test_at_best_valid": 0.5, "test_at_last_epoch": 0.5}  # fmt: skip

    monkeypatch.setattr(transfer, "finetune_row", quick_row)
    monkeypatch.setattr(transfer, "_worker_pool", lambda jobs: ThreadPoolExecutor(1))
    returned = run_transfer(small(corpus, variants=("none",), seeds=(0, 1, 2, 3)), tmp_path / "exp", jobs=2)
    assert sorted(r["seed"] for r in returned) == [0, 1, 2, 3]
    assert sorted(r["seed"] for r in read_rows(tmp_path / "exp")) == [0, 1, 2, 3]
