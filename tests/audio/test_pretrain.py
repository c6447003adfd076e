"""BYOL-A (``byol`` with the "byola" views) and masked spectrogram modelling (``mae`` with the ViT on spectrogram
patches) on the shared loop and real recordings: the first loss against a per-clip loop, exact resume, collapse
monitor rows, the CLI from pretraining to ``molssl probe``, and (slow) the loss falling."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from molssl.methods.byol import BYOL, BYOLConfig
from molssl.methods.mae import MAE, MAEConfig
from molssl.pretrain import DataConfig, RunConfig, TrainConfig, pretrain
from molssl.views import get_views
from tests.audio.conftest import TINY_CNN, TINY_VIT, generator

BYOL_SMALL = {"projection_dim": 16, "projection_hidden_dim": 32, "prediction_hidden_dim": 32}
MAE_SMALL = {"decoder_dim": 32, "decoder_depth": 1, "decoder_heads": 2}
MONITORS = ("emb_std", "effective_rank", "uniformity", "alignment")


def _config(method: str, method_config: dict, encoder: dict, steps: int = 6, batch_size: int = 16, **train) -> RunConfig:
    return RunConfig(method=method, method_config=method_config, encoder=encoder,
                     data=DataConfig(path="fsdd", modality="audio"),
                     train=TrainConfig(steps=steps, batch_size=batch_size, log_every=2, checkpoint_every=2,
                                       device="cpu", progress=False, **train))  # fmt: skip


def _rows(result):
    return [{k: v for k, v in r.items() if not k.endswith("_per_s")} for r in result.metrics]


def test_byola_first_loss_matches_a_per_clip_loop(clips):
    torch.manual_seed(0)  # no dropout, so the loop below sees the same networks (batch norm: the same batches)
    method = BYOL(dataclasses.replace(TINY_CNN, dropout=0.0), BYOLConfig(**BYOL_SMALL)).train()
    method.set_total_steps(10)
    assert method.recipe("audio") == "byola"
    output = method(clips, generator(5))
    with torch.no_grad():
        views = get_views("audio", "byola")(clips, generator(5))
        z = [method.projector(method.encoder(v)) for v in views]
        q = [method.predictor(x) for x in z]
    cos = torch.nn.functional.cosine_similarity
    expected = sum(-(cos(q[0][i], z[1][i], dim=0) + cos(q[1][i], z[0][i], dim=0)) / 2 for i in range(len(clips))) / len(clips)
    assert output.loss.item() == pytest.approx(float(expected), rel=1e-4, abs=1e-5)


def test_mae_loss_matches_a_per_clip_per_patch_loop(clips):
    torch.manual_seed(0)
    method = MAE(TINY_VIT, MAEConfig(**MAE_SMALL)).train()
    output = method(clips, generator(3))
    with torch.no_grad():  # the same draws in the same order: the view, then the mask
        g = generator(3)
        spectrograms = method.make_views(clips, g)[0]  # [12, 1, 64, 64]: BYOL-A's crop without mixup
        mask, keep = method.mask(len(clips), g, spectrograms.device)
        errors = []
        for i in range(len(clips)):  # one clip through encoder and decoder alone, its patches cut by hand
            tokens = method.encoder.forward_tokens(spectrograms[i : i + 1], keep[i : i + 1])
            prediction = method.decoder(tokens, keep[i : i + 1], mask[i : i + 1])[0]  # [16, 256]
            for j in mask[i].nonzero().flatten().tolist():  # hidden patches: 16x16 blocks, row-major
                row, col = divmod(j, 4)
                patch = spectrograms[i, 0, 16 * row : 16 * row + 16, 16 * col : 16 * col + 16].reshape(-1)
                target = (patch - patch.mean()) / torch.sqrt(patch.var() + 1e-6)
                errors.append(float((prediction[j] - target).square().mean()))
    assert len(errors) == 12 * method.num_hidden
    assert output.loss.item() == pytest.approx(sum(errors) / len(errors), rel=1e-4)


def test_mae_reconstructs_spectrogram_patches(clips):
    torch.manual_seed(0)
    method = MAE(TINY_VIT, MAEConfig(**MAE_SMALL)).train()
    output = method(clips, generator(1))
    assert output.loss.item() > 0.5 and output.embeddings.shape == (12, 32)
    assert method.num_hidden == 12 and method.encoder.patchify(clips.normalized()).shape == (12, 16, 256)


def _kill_at(step: int):
    """An ``on_log`` callback that stops the run at ``step`` as a kill would."""

    def callback(row: dict) -> None:
        if row["step"] == step:
            raise KeyboardInterrupt(f"killed at step {step}")

    return callback


@pytest.mark.parametrize("method", ["byol", "mae"])
def test_run_resumes_exactly_with_collapse_monitors(method, tmp_path):
    if method == "byol":
        config = _config("byol", BYOL_SMALL, TINY_CNN.to_dict())
    else:  # MAE's masks are drawn anew each step: resume must restore where the draws were
        config = _config("mae", MAE_SMALL, TINY_VIT.to_dict())
    full = pretrain(config, out=tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, out=tmp_path / "cut", on_log=_kill_at(4))
    resumed = pretrain(config, out=tmp_path / "cut", resume=True)
    weights = {run: (tmp_path / run / "encoder" / "model.safetensors").read_bytes() for run in ("full", "cut")}
    assert weights["full"] == weights["cut"]  # bitwise
    assert _rows(full) == _rows(resumed)
    assert [r["step"] for r in full.metrics] == [2, 4, 6]
    expected = (*MONITORS, "momentum", "clips_seen") if method == "byol" else (*MONITORS[:3], "clips_seen")  # one view
    assert all(key in row for row in full.metrics for key in expected)
    recorded = json.loads((tmp_path / "full" / "config.json").read_text())
    assert recorded["source"]["clips"] == 3000 and recorded["source"]["logmel"]["n_mels"] == 64


def test_mae_pretrains_from_the_cli_and_probes(tmp_path, capsys):
    from molssl.cli.main import main

    run = tmp_path / "mae"
    vit = [f"--encoder-option={k}={v}" for k, v in TINY_VIT.to_dict().items() if k not in ("kind", "in_channels")]
    code = main(["pretrain", "--method", "mae", "--modality", "audio", "--data", "fsdd", "--out", str(run), "--steps", "4",
                 "--batch-size", "16", "--log-every", "2", "--device", "cpu", "--no-progress", "--encoder-kind", "vit",
                 *vit, *[f"-o{k}={v}" for k, v in MAE_SMALL.items()]])  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert all(key in rows[-1] for key in MONITORS if key != "alignment")  # one view: no alignment between views
    assert f"probe with molssl probe --encoder {run / 'encoder'}" in capsys.readouterr().out  # not finetune: graphs only
    out = tmp_path / "probe.json"
    code = main(["probe", "--encoder", str(run), "--random-init", "--raw", "--k", "20", "--l2", "1e-2", "--device", "cpu",
                 "--data-option", "label=speaker", "--json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "3000 items; split 2400/300/300" in printed
    results = json.loads(out.read_text())
    assert set(results) == {"pretrained", "random_init", "raw"}
    assert results["raw"]["dim"] == 64 and results["pretrained"]["dim"] == 32
    assert results["raw"]["linear"]["test_accuracy"] > 0.5  # six speakers: chance is 1/6
    assert results["pretrained"]["data"]["label"] == "speaker"


def test_python_takes_the_data_names_and_options_the_cli_takes(tmp_path):
    """``pretrain("byol", "fsdd", data_options=...)`` is ``molssl pretrain --method byol --data fsdd --data-option ...``."""
    from molssl.cli.main import main

    cnn = {k: v for k, v in TINY_CNN.to_dict().items() if k != "kind"}
    train = TrainConfig(steps=2, batch_size=8, log_every=1, device="cpu", progress=False)
    python = pretrain("byol", "fsdd", tmp_path / "python", data_options={"takes": "10-49"}, method_options=BYOL_SMALL,
                      encoder={"kind": "byola_cnn", **cnn}, train=train)  # fmt: skip
    code = main(["pretrain", "--method", "byol", "--data", "fsdd", "--data-option", "takes=10-49", "--out",
                 str(tmp_path / "cli"), "--steps", "2", "--batch-size", "8", "--log-every", "1", "--device", "cpu",
                 "--no-progress", "--encoder-kind", "byola_cnn", *[f"--encoder-option={k}={v}" for k, v in cnn.items()],
                 *[f"-o{k}={v}" for k, v in BYOL_SMALL.items()]])  # fmt: skip
    assert code == 0
    recorded = {run: json.loads((tmp_path / run / "config.json").read_text()) for run in ("python", "cli")}
    for config in recorded.values():  # no modality given: the name chose audio; the takes left the probes' out
        assert config["data"] == {"path": "fsdd", "modality": "audio", "options": {"takes": "10-49"}, "workers": 1}
        assert config["source"]["clips"] == 2400 and config["source"]["path"].endswith("(takes 10-49)")
    assert recorded["python"]["source"] == recorded["cli"]["source"]
    pretrain(RunConfig.from_dict(recorded["cli"]), out=tmp_path / "replayed")  # config.json alone reopens the same clips
    weights = {run: (tmp_path / run / "encoder" / "model.safetensors").read_bytes() for run in ("python", "cli", "replayed")}
    assert weights["python"] == weights["cli"] == weights["replayed"]
    assert python.steps == 2 and len(python.metrics) == 2


@pytest.mark.slow
@pytest.mark.parametrize("method", ["byol", "mae"])
def test_loss_falls_on_real_recordings(method, tmp_path):
    if method == "byol":
        config = _config("byol", BYOL_SMALL, TINY_CNN.to_dict(), steps=60, batch_size=64, lr=3e-3)
    else:
        config = _config("mae", MAE_SMALL, {"kind": "vit", **{k: v for k, v in TINY_VIT.to_dict().items() if k != "kind"}},
                         steps=60, batch_size=64, lr=3e-3)  # fmt: skip
    result = pretrain(config, out=tmp_path / method)
    losses = [row["loss"] for row in result.metrics]
    assert sum(losses[-5:]) / 5 < sum(losses[:3]) / 3 - 0.05, losses
    assert result.metrics[-1]["effective_rank"] > 2
