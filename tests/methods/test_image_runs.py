"""SimCLR, BYOL, MAE and DINO on images, each through the CLI (``molssl pretrain`` then ``molssl probe``) and
through Python with an interruption and a resume that ends bitwise equal to the uninterrupted run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests.methods.images import TINY_RESNET_OPTIONS, TINY_VIT_OPTIONS, tiny_run

DIGIT_VIEWS = {"crop_scale": [0.5, 1.0], "flip_p": 0.0}
#: each method with its smallest heads and the encoder it trains
RUNS = {
    "simclr": ({"projection_dim": 8, "view_options": DIGIT_VIEWS}, TINY_RESNET_OPTIONS),
    "byol": ({"projection_dim": 8, "projection_hidden_dim": 16, "prediction_hidden_dim": 16, "base_momentum": 0.9,
              "view_options": DIGIT_VIEWS}, TINY_RESNET_OPTIONS),  # fmt: skip
    "mae": ({"decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2}, TINY_VIT_OPTIONS),
    "dino": ({"out_dim": 24, "hidden_dim": 32, "bottleneck_dim": 8,
              "view_options": {"n_local": 2, "global_scale": [0.5, 1.0], "local_scale": [0.2, 0.5], "flip_p": 0.0}},
             TINY_RESNET_OPTIONS),  # fmt: skip
}


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    """500 of the embedded digits (50 per class), a labelled set small enough to probe quickly."""
    from molssl.vision.data import open_image_source

    source = open_image_source()
    pick = torch.arange(0, 5000, 10)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, images=source.images[pick, 0].numpy(), labels=source.labels[pick].numpy())
    return path


def _cli_options(method: str) -> list[str]:
    options, encoder = RUNS[method]
    args = ["--encoder-kind", encoder["kind"]]
    for key, value in encoder.items():
        if key != "kind":
            args += ["--encoder-option", f"{key}={json.dumps(value)}"]
    for key, value in options.items():
        args += ["-o", f"{key}={json.dumps(value)}"]
    return args


@pytest.mark.parametrize("method", sorted(RUNS))
def test_pretrain_and_probe_from_the_command_line(method, digits_file, tmp_path, capsys):
    from molssl.cli.main import main

    run = tmp_path / "run"
    code = main(["pretrain", "--method", method, "--data", "embedded", "--out", str(run), "--steps", "4", "--batch-size", "16",
                 "--log-every", "2", "--device", "cpu", "--no-progress", *_cli_options(method)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == method and config["data"]["modality"] == "image"
    assert config["encoder"]["kind"] == RUNS[method][1]["kind"] and config["encoder"]["in_channels"] == 1
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all(math.isfinite(r["loss"]) for r in rows)
    encoder = json.loads((run / "encoder" / "config.json").read_text())["config"]
    assert encoder["preprocessing"]["image_size"] == [28, 28] and encoder["preprocessing"]["channels"] == 1
    assert len(encoder["preprocessing"]["normalization"]["mean"]) == 1
    code = main(["probe", "--encoder", str(run), "--random-init", "--data", str(digits_file), "--k", "20", "--l2", "1e-2",
                 "--device", "cpu"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "pretrained" in captured.out and "random_init" in captured.out


@pytest.mark.parametrize("method", ["simclr", "mae", "dino"])  # BYOL's is in test_byol (with its momentum log)
def test_pretraining_resumes_bitwise_after_an_interruption(method, tmp_path):
    from molssl import pretrain
    from molssl.nn.pretrained import load_encoder

    options, encoder = RUNS[method]
    run = tiny_run(steps=6, batch_size=16, log_every=1, checkpoint_every=3)
    full = pretrain(method, None, tmp_path / "full", train=run, method_options=options, encoder=encoder)

    def interrupt(row):
        if row["step"] == 4:  # after the checkpoint of step 3
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain(method, None, tmp_path / "cut", train=run, method_options=options, encoder=encoder, on_log=interrupt)
    resumed = pretrain(method, None, tmp_path / "cut", train=run, method_options=options, encoder=encoder, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("_per_s")} for r in rows]  # noqa: E731
    assert strip(full.metrics) == strip(resumed.metrics)
    assert len({r["loss"] for r in full.metrics}) > 1  # the steps differ, so equal logs are not vacuous
