import pytest
import torch

from molssl.vision.batch import ImageBatch


def test_batch_holds_images_and_labels_and_moves():
    images = torch.rand(3, 1, 8, 8)
    batch = ImageBatch(images, torch.tensor([0, 1, 2]))
    assert batch.modality == "image" and len(batch) == 3 and batch.num_images == 3
    moved = batch.to("cpu")
    assert torch.equal(moved.images, images) and torch.equal(moved.labels, torch.tensor([0, 1, 2]))
    assert ImageBatch(images).to("meta").images.device.type == "meta"


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (torch.rand(1, 8, 8), None, r"\[B, C, H, W\]"),
        (torch.rand(2, 1, 8, 8, dtype=torch.float64), None, "float32"),
        (torch.rand(2, 1, 8, 8), torch.tensor([0.0, 1.0]), "int64"),
        (torch.rand(2, 1, 8, 8), torch.tensor([0, 1, 2]), "2 images but 3 labels"),
    ],
)
def test_batch_refuses_bad_tensors(images, labels, message):
    with pytest.raises(ValueError, match=message):
        ImageBatch(images, labels)


def test_batch_carries_and_applies_its_normalization():
    images = torch.rand(2, 3, 4, 4)
    batch = ImageBatch(images, None, (0.5, 0.4, 0.3), (0.2, 0.2, 0.1))
    torch.testing.assert_close(batch.normalized()[:, 2], (images[:, 2] - 0.3) / 0.1)
    assert batch.to("cpu").mean == (0.5, 0.4, 0.3)
    assert torch.equal(ImageBatch(images).normalized(), images)
    with pytest.raises(ValueError, match="3 values each"):
        ImageBatch(images, None, (0.5,), (0.2,))
    with pytest.raises(ValueError, match="both mean and std"):
        ImageBatch(images, None, (0.5, 0.5, 0.5))
