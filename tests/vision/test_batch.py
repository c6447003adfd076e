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
