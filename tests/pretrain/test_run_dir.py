"""The run directory's folder rule: validate first, a failed start blocks no retry, finished runs need --overwrite."""

from __future__ import annotations

import json

import pytest

from molssl.cli.main import main
from molssl.pretrain import pretrain
from molssl.pretrain.run_dir import RunDirectoryError
from tests.pretrain.conftest import SMALL_ENCODER, fast


@pytest.fixture(scope="module")
def small_smi(corpus_file, tmp_path_factory):
    """200 real molecules: too few for the default batch of 256."""
    path = tmp_path_factory.mktemp("small") / "small.smi"
    path.write_text("\n".join(corpus_file.read_text().splitlines()[:201]) + "\n")
    return path


def _cli(*args: str) -> int:
    return main(["pretrain", "--method", "attr_masking", "--num-layers", "2", "--emb-dim", "16", "--no-progress",
                 "--device", "cpu", *args])  # fmt: skip


def test_a_failed_start_writes_nothing_and_blocks_no_retry(small_smi, tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli("--data", str(small_smi), "--out", str(out)) == 2
    assert "200 graphs make no full batch of 256" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())  # validated before writing
    # the retry: another batch size, also with --resume, goes through
    assert _cli("--data", str(small_smi), "--out", str(out), "--batch-size", "64", "--steps", "2", "--resume") == 0
    assert json.loads((out / "config.json").read_text())["train"]["batch_size"] == 64
    assert (out / "encoder" / "config.json").is_file()


def test_leftovers_of_a_run_killed_before_its_first_checkpoint_are_replaced(store, tmp_path):
    out = tmp_path / "run"

    def kill(row):
        raise KeyboardInterrupt("killed before the first checkpoint")

    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=20, checkpoint_every=20), on_log=kill)
    assert (out / "config.json").is_file() and not (out / "state").exists()
    result = pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=10, lr=0.01))
    assert result.steps == 10 and json.loads((out / "config.json").read_text())["train"]["lr"] == 0.01
    assert [r["step"] for r in result.metrics] == [5, 10]  # the killed run's rows are gone


def test_a_finished_run_needs_overwrite_and_overwrite_replaces_it(store, tmp_path, capsys):
    out = tmp_path / "run"
    pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=10))
    (out / "notes.txt").write_text("the user's own file")
    with pytest.raises(RunDirectoryError, match=r"already holds a pretraining run .*\(state, encoder\); pass --overwrite.*--resume"):
        pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=10))
    # a failing overwrite (bad option) keeps the finished run
    with pytest.raises(ValueError, match="mask_rate"):
        pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=10), method_options={"mask_rate": 2.0},
                 overwrite=True)  # fmt: skip
    assert (out / "encoder" / "config.json").is_file()
    result = pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(steps=5, log_every=5), overwrite=True)
    assert result.steps == 5 and [r["step"] for r in result.metrics] == [5]
    assert (out / "notes.txt").read_text() == "the user's own file"  # only the run's own files are replaced
    with pytest.raises(ValueError, match="--overwrite starts over and --resume continues"):
        pretrain("attr_masking", store, out, encoder=SMALL_ENCODER, train=fast(), overwrite=True, resume=True)


def test_a_bad_method_option_is_refused_before_the_data_is_read(tmp_path):
    missing = tmp_path / "no_such_file.smi"  # reading it would fail: the option's error must come first
    with pytest.raises(ValueError, match=r"unknown AttributeMaskingConfig keys \['mask_ratee'\]"):
        pretrain("attr_masking", missing, tmp_path / "run", train=fast(), method_options={"mask_ratee": 0.2})
    assert not (tmp_path / "run").exists()
