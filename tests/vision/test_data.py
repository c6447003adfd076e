import gzip
import hashlib
import json

import numpy as np
import pytest
import torch

from molssl.data.embedded import embedded_file
from molssl.pretrain.source import open_source
from molssl.vision.data import ImageSource, open_image_source


def test_embedded_digits_match_their_dataset_card():
    record = json.loads(embedded_file("mnist/mnist_5k.json").read_text())
    for name, sums in record["files"].items():
        raw = gzip.decompress(embedded_file(f"mnist/{name}").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == sums["uncompressed_sha256"]
    source = open_image_source()
    assert len(source) == 5000 and source.num_classes == 10
    assert torch.bincount(source.labels).tolist() == [500] * 10
    described = source.describe()
    assert described["image_size"] == [28, 28] and described["channels"] == 1
    assert described["normalization"] == {"mean": [0.1313], "std": [0.3086]}
    # real digits: dark background, a few bright strokes
    pixels = source.images.float() / 255
    assert 0.10 < pixels.mean() < 0.16 and (pixels[:, :, 0, :] == 0).float().mean() > 0.99


def test_batches_are_float_images_with_labels_and_normalization():
    source = open_source("image", None)
    batch = source.batch(torch.tensor([3, 4000]), torch.Generator())
    assert batch.images.dtype == torch.float32 and batch.images.shape == (2, 1, 28, 28)
    assert batch.labels.tolist() == [0, 8] and batch.mean == (0.1313,)
    torch.testing.assert_close(batch.images * 255, source.images[[3, 4000]].float())
    assert source.encoder_options() == {"in_channels": 1}


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_idx_directory_npz_npy_and_png_folders(tmp_path):
    digits = open_image_source()
    pick = torch.arange(0, 5000, 250)
    images, labels = digits.images[pick, 0].numpy(), digits.labels[pick].numpy()
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:5])
    with pytest.raises(ValueError, match="split=PREFIX"):
        open_image_source(tmp_path)
    train = open_image_source(tmp_path, {"split": "train"}, labels=True)
    assert torch.equal(train.images[:, 0], torch.from_numpy(images)) and train.labels.tolist() == labels.tolist()
    test = open_image_source(tmp_path / "t10k-images-idx3-ubyte")
    assert len(test) == 5 and test.labels is None
    with pytest.raises(ValueError, match="no labels"):
        open_image_source(tmp_path / "t10k-images-idx3-ubyte", labels=True)

    np.savez(tmp_path / "rgb.npz", images=np.stack([images / 255.0] * 3, axis=-1), labels=labels)
    rgb = open_image_source(tmp_path / "rgb.npz", {"mean": "0.5,0.5,0.5", "std": [0.25, 0.25, 0.25]})
    assert rgb.images.shape == (20, 3, 28, 28) and rgb.mean == (0.5, 0.5, 0.5)
    assert torch.equal(rgb.images[:, 1], torch.from_numpy(images))
    np.save(tmp_path / "plain.npy", images)
    assert open_image_source(tmp_path / "plain.npy").images.shape == (20, 1, 28, 28)

    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels)):
        (tmp_path / "png" / f"digit{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "png" / f"digit{label}" / f"{i}.png")
    folder = open_image_source(tmp_path / "png")
    assert folder.describe()["classes"] == [f"digit{d}" for d in range(10)]
    assert folder.labels.tolist() == labels.tolist() and torch.equal(folder.images[:, 0], torch.from_numpy(images))


def test_bad_image_data_is_named(tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4]) + bytes(31))
    with pytest.raises(ValueError, match="x-images-idx3-ubyte: header says shape"):
        open_image_source(tmp_path / "x-images-idx3-ubyte")
    np.savez(tmp_path / "a.npz", pixels=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"a.npz: .* needs an array 'images'.*\['pixels'\]"):
        open_image_source(tmp_path / "a.npz")
    np.save(tmp_path / "b.npy", np.full((2, 4, 4), 3.0))
    with pytest.raises(ValueError, match=r"b.npy: float images must lie in \[0, 1\]"):
        open_image_source(tmp_path / "b.npy")
    np.save(tmp_path / "c.npy", np.zeros((2, 5, 4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="C 1 or 3"):
        open_image_source(tmp_path / "c.npy")
    with pytest.raises(ValueError, match="unknown ImageDataOptions keys"):
        open_image_source(None, {"size": 3})
    with pytest.raises(FileNotFoundError, match="nowhere"):
        open_image_source(tmp_path / "nowhere.npz")


def test_with_preprocessing_takes_the_encoders_normalization_and_refuses_other_sizes():
    source = ImageSource(torch.zeros(3, 1, 8, 8, dtype=torch.uint8) + 7)
    assert source.std == (0.0001,)  # a flat set still has a usable std
    renormed = source.with_preprocessing({"image_size": [8, 8], "channels": 1,
                                          "normalization": {"mean": [0.1], "std": [0.3]}})  # fmt: skip
    assert renormed.batch(torch.tensor([0])).mean == (0.1,)
    with pytest.raises(ValueError, match="image_size"):
        source.with_preprocessing({"image_size": [28, 28], "channels": 1})


def test_bad_smiles_are_named_by_row(tmp_path):
    (tmp_path / "mols.smi").write_text("SMILES\nCCO\nC1CC\n")
    with pytest.raises(ValueError, match="mols.smi, row 1: RDKit cannot read 'C1CC'"):
        open_image_source(tmp_path / "mols.smi", {"cache": str(tmp_path / "cache")})


def test_smiles_file_opens_as_an_image_source(tmp_path):
    (tmp_path / "mols.smi").write_text("SMILES\nCCO\nc1ccccc1O\n")
    source = open_image_source(tmp_path / "mols.smi", {"depict_size": 32, "cache": str(tmp_path / "cache")})
    assert len(source) == 2 and source.describe()["image_size"] == [32, 32] and source.labels is None
    assert source.describe()["depiction"]["molecules"] == 2
