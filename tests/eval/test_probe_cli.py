"""``molssl probe`` and ``probe_representations`` on real digits with a saved encoder checkpoint."""

import json

import numpy as np
import pytest
import torch

from molssl.cli.main import main
from molssl.eval.probe import probe_representations
from molssl.nn.pretrained import save_encoder
from molssl.vision.data import ImageSource, open_image_source
from molssl.vision.resnet import ResNet, ResNetConfig


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    source = open_image_source()
    pick = torch.arange(0, 5000, 10)  # 500 real digits, 50 per class
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, images=source.images[pick, 0].numpy(), labels=source.labels[pick].numpy())
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(123)
    encoder = ResNet(ResNetConfig(width=4, in_channels=1, small_images=True, blocks=(1, 1, 1, 1)))
    directory = tmp_path_factory.mktemp("encoder") / "encoder"
    save_encoder(encoder, directory, source=open_image_source())  # normalization of the embedded set recorded
    return directory


def test_probe_cli_prints_knn_and_linear_accuracy(digits_file, checkpoint, tmp_path, capsys):
    out = tmp_path / "probe.json"
    code = main(["probe", "--encoder", str(checkpoint), "--random-init", "--raw", "--data", str(digits_file),
                 "--k", "5", "20", "--l2", "1e-2", "--device", "cpu", "--json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "split 300/100/100" in printed
    lines = {line.split()[0]: line.split() for line in printed.splitlines()[2:]}
    assert set(lines) == {"pretrained", "random_init", "raw"}
    results = json.loads(out.read_text())
    assert results["raw"]["dim"] == 784 and results["pretrained"]["dim"] == 32
    # the data was normalized as the checkpoint records (the embedded set's), not by its own statistics
    assert results["raw"]["data"]["normalization"] == {"mean": [0.1313], "std": [0.3086]}
    assert float(lines["raw"][2]) == pytest.approx(results["raw"]["knn"]["5"]["test_accuracy"], abs=1e-4)
    assert results["raw"]["knn"]["5"]["test_accuracy"] > 0.75  # real digits: raw pixels classify well
    assert results["pretrained"]["encoder"]["kind"] == "resnet"


def test_random_init_is_the_checkpoints_architecture_with_fresh_weights(digits_file, checkpoint):
    results = probe_representations(digits_file, encoder=checkpoint, random_init=True, ks=(5,), l2_grid=(1e-2,))
    assert results["random_init"]["encoder"] == results["pretrained"]["encoder"]
    assert results["random_init"]["knn"] != results["pretrained"]["knn"]  # other weights, other neighbours
    again = probe_representations(digits_file, encoder=checkpoint, random_init=True, ks=(5,), l2_grid=(1e-2,))
    assert again["random_init"]["knn"] == results["random_init"]["knn"]  # seeded


def test_probe_refuses_other_image_sizes_and_nothing_to_probe(tmp_path, checkpoint, capsys):
    np.savez(tmp_path / "big.npz", images=np.zeros((20, 32, 32), np.uint8), labels=np.arange(20) % 2)
    assert main(["probe", "--encoder", str(checkpoint), "--data", str(tmp_path / "big.npz")]) == 2
    assert "image_size [32, 32]" in capsys.readouterr().err
    assert main(["probe"]) == 2
    assert "nothing to probe" in capsys.readouterr().err
    assert main(["probe", "--random-init", "--encoder-kind", "resnet", "--encoder-option", "width=2",
                 "--encoder-option", "blocks=[1,1,1,1]", "--encoder-option", "small_images=true",
                 "--data", str(tmp_path / "big.npz"), "--k", "3", "--l2", "1e-2"]) == 0  # fmt: skip


def test_a_named_data_set_picks_its_modality(tmp_path, capsys):
    """``--data fsdd`` without ``--modality`` (or an audio checkpoint) probes the embedded recordings, as pretrain does."""
    out = tmp_path / "probe.json"
    code = main(["probe", "--data", "fsdd", "--random-init", "--encoder-kind", "byola_cnn", "--encoder-option", "width=8",
                 "--encoder-option", "dim=32", "--raw", "--k", "20", "--l2", "1e-2", "--device", "cpu", "--json", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "3000 items; split 2400/300/300" in capsys.readouterr().out  # FSDD's customary split: test takes 0-4
    results = json.loads(out.read_text())
    assert results["raw"]["dim"] == 64 and results["random_init"]["encoder"]["kind"] == "byola_cnn"
    assert probe_representations("fsdd", raw=True, ks=(20,), l2_grid=(1e-2,))["raw"]["dim"] == 64
