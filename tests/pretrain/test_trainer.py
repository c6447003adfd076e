"""The shared pretraining loop: every method learns, runs resume exactly, run directories are complete."""

from __future__ import annotations

import json

import pytest
import torch

from molssl.checkpoint import load_checkpoint
from molssl.nn.pretrained import load_encoder
from molssl.pretrain import pretrain
from molssl.pretrain.run_dir import RunDirectoryError
from molssl.tasks.finetune import FinetuneConfig
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET
from tests.pretrain.conftest import SMALL_ENCODER, fast

UNSUPERVISED = ["attr_masking", "context_pred", "edge_pred", "infomax", "graphcl", "infograph", "graphmae", "bgrl"]


def _mean_loss(rows):
    return sum(r["loss"] for r in rows) / len(rows)


@pytest.mark.parametrize("method", UNSUPERVISED + ["supervised"])
def test_loss_decreases_on_real_molecules(method, store, tmp_path):
    data = MOLECULENET / "sider.csv" if method == "supervised" else store
    result = pretrain(method, data, tmp_path / method, encoder=SMALL_ENCODER,
                      train=fast(steps=200, log_every=10, checkpoint_every=200))  # fmt: skip
    rows = result.metrics
    assert result.steps == 200 and [r["step"] for r in rows] == list(range(10, 201, 10))
    assert _mean_loss(rows[-4:]) < 0.85 * _mean_loss(rows[:2]), [round(r["loss"], 3) for r in rows]
    assert all("effective_rank" in r and "graphs_per_s" in r for r in rows)


def test_run_directory_holds_what_fine_tuning_needs(store, tmp_path):
    result = pretrain("attr_masking", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast())
    run = result.run_dir
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "attr_masking" and config["encoder"]["scheme"]["name"] == "hu"
    assert json.loads((run / "scheme.json").read_text()) == config["encoder"]["scheme"]
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    encoder = load_encoder(result.encoder_dir)
    assert encoder.config.num_layers == 2
    _, state, extra = load_checkpoint(result.encoder_dir)
    assert extra["method"] == "attr_masking" and extra["steps"] == 20
    predictor = PropertyPredictor(encoder=encoder.config).fit(
        MOLECULENET / "bace.csv", config=FinetuneConfig(epochs=1, seeds=(0,)), pretrained=result.encoder_dir
    )
    assert 0.0 <= predictor.metrics_["test_at_best_valid"]["mean"] <= 1.0


def _interrupt_at(step):
    def on_log(row):
        if row["step"] == step:
            raise KeyboardInterrupt(f"simulated kill at step {step}")

    return on_log


@pytest.mark.parametrize("method", ["attr_masking", "context_pred"])
def test_resume_gives_the_uninterrupted_parameters(method, store, tmp_path):
    # 400 molecules / 32 = 12 batches per epoch: 30 steps cross two epoch boundaries
    train = fast(steps=30)
    full = pretrain(method, store, tmp_path / "full", encoder=SMALL_ENCODER, train=train)
    with pytest.raises(KeyboardInterrupt):
        pretrain(method, store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, on_log=_interrupt_at(25))
    assert not (tmp_path / "cut" / "encoder").exists()
    resumed = pretrain(method, store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    drop = ("graphs_per_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in full.metrics] == [
        {k: v for k, v in r.items() if k not in drop} for r in resumed.metrics
    ]


def test_existing_run_is_not_overwritten_and_resume_checks_the_config(store, tmp_path):
    pretrain("infomax", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=10))
    with pytest.raises(RunDirectoryError, match="already holds a pretraining run"):
        pretrain("infomax", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=10))
    with pytest.raises(RunDirectoryError, match="train.lr"):
        pretrain("infomax", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=10, lr=0.01), resume=True)
    longer = pretrain("infomax", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=20), resume=True)
    assert longer.steps == 20 and [r["step"] for r in longer.metrics] == [5, 10, 15, 20]


def test_supervised_chained_after_self_supervised(store, tmp_path):
    ssl = pretrain("attr_masking", store, tmp_path / "ssl", encoder=SMALL_ENCODER, train=fast(steps=10))
    chained = pretrain("supervised", MOLECULENET / "sider.csv", tmp_path / "sup", encoder=SMALL_ENCODER,
                       init=ssl.run_dir, train=fast(steps=10, lr=1e-9))  # fmt: skip
    config = json.loads((chained.run_dir / "config.json").read_text())
    assert config["init"].endswith("encoder") and config["method_config"]["num_tasks"] == 27
    before, after = load_encoder(ssl.encoder_dir).state_dict(), load_encoder(chained.encoder_dir).state_dict()
    weights = [k for k in before if k.endswith("weight")]
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in weights)


def test_init_with_another_scheme_is_refused(store, tmp_path):
    ssl = pretrain("attr_masking", store, tmp_path / "ssl", encoder=SMALL_ENCODER, train=fast(steps=5, log_every=5, checkpoint_every=5))
    with pytest.raises(Exception, match="scheme"):
        pretrain("supervised", MOLECULENET / "bace.csv", tmp_path / "sup", scheme="ogb", encoder=SMALL_ENCODER,
                 init=ssl.run_dir, train=fast(steps=5))  # fmt: skip


def test_bf16_autocast_on_cpu(store, tmp_path):
    result = pretrain("edge_pred", store, tmp_path / "bf16", encoder=SMALL_ENCODER, train=fast(precision="bf16"))
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result.metrics)


def test_fp16_on_cpu_is_refused(store, tmp_path):
    with pytest.raises(ValueError, match="fp16"):
        pretrain("edge_pred", store, tmp_path / "fp16", encoder=SMALL_ENCODER, train=fast(precision="fp16"))


def test_unknown_method_lists_the_valid_ones(store, tmp_path):
    with pytest.raises(ValueError, match="valid methods: attr_masking"):
        pretrain("attribute-masking", store, tmp_path / "x")


def test_too_few_molecules_for_a_batch(store, tmp_path):
    with pytest.raises(ValueError, match="no full batch"):
        pretrain("infomax", store, tmp_path / "x", encoder=SMALL_ENCODER, train=fast(batch_size=1024))


def test_activation_checkpointing_trains_to_the_same_weights_with_dropout(store, tmp_path):
    encoder = {**SMALL_ENCODER, "dropout": 0.3}
    plain = pretrain("attr_masking", store, tmp_path / "plain", encoder=encoder, train=fast())
    checkpointed = pretrain("attr_masking", store, tmp_path / "ckpt", encoder=encoder, train=fast(activation_checkpointing=True))
    a, b = load_encoder(plain.encoder_dir).state_dict(), load_encoder(checkpointed.encoder_dir).state_dict()
    for key in a:  # 20 Adam steps on recomputed activations: the same weights and batch-norm statistics
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6, msg=key)
    assert [r["loss"] for r in checkpointed.metrics] == pytest.approx([r["loss"] for r in plain.metrics], rel=1e-5)
    config = json.loads((checkpointed.run_dir / "config.json").read_text())
    assert config["train"]["activation_checkpointing"] is True


def test_resume_in_the_middle_of_a_size_curriculum_is_exact(store, tmp_path):
    # 12 batches per epoch; the curriculum covers 18 of 30 steps, so the kill at 15 falls inside it, in epoch 1
    train = fast(steps=30, size_curriculum=0.6, curriculum_start=0.3)
    full = pretrain("attr_masking", store, tmp_path / "full", encoder=SMALL_ENCODER, train=train)
    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, on_log=_interrupt_at(15))
    resumed = pretrain("attr_masking", store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in full.metrics] == [r["loss"] for r in resumed.metrics]
    recorded = json.loads((full.run_dir / "config.json").read_text())["train"]
    assert (recorded["size_curriculum"], recorded["curriculum_start"]) == (0.6, 0.3)
    uniform = pretrain("attr_masking", store, tmp_path / "uniform", encoder=SMALL_ENCODER, train=fast(steps=30))
    assert [r["loss"] for r in uniform.metrics] != [r["loss"] for r in full.metrics]  # other batches were drawn
    with pytest.raises(RunDirectoryError, match="train.size_curriculum"):
        pretrain("attr_masking", store, tmp_path / "cut", encoder=SMALL_ENCODER, train=fast(steps=40), resume=True)


def test_a_run_written_before_the_new_options_resumes(store, tmp_path):
    run = pretrain("infomax", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=10)).run_dir
    data = json.loads((run / "config.json").read_text())
    for key in ("activation_checkpointing", "size_curriculum", "curriculum_start"):
        data["train"].pop(key)
    (run / "config.json").write_text(json.dumps(data))
    longer = pretrain("infomax", store, run, encoder=SMALL_ENCODER, train=fast(steps=20, activation_checkpointing=True), resume=True)
    assert longer.steps == 20
