"""What a fine-tuned image model reads: each molecule's RDKit depiction, batched by the fine-tuning loader.

``DepictedMolecules`` stands where a graph model's ``GraphArrays`` (and a text model's
``molssl.text.inputs.TokenizedMolecules``) stand in ``molssl.tasks.finetune``: same length, same indices,
and a ``collate`` that turns molecule indices (and the labels ``{"y": ...}``) into a ``DepictionBatch`` of
normalized pixels. Molecules are depicted once (``molssl.vision.depict``, cached by digest) and normalized
as the image encoder's checkpoint records, so a pretrained encoder sees the preprocessing it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from molssl.vision.data import ImageSource


@dataclass
class DepictionBatch:
    """Normalized depictions of B molecules with optional property labels.

    Attributes:
        pixels: [B, C, H, W] float32, normalized as the encoder expects.
        y: [B, T] labels (fine-tuning) or None.
    """

    pixels: Tensor
    y: Tensor | None = None
    modality: ClassVar[str] = "image"

    @property
    def num_graphs(self) -> int:
        """B, the number of molecules (the name the fine-tuning loop reads off every batch)."""
        return self.pixels.size(0)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> DepictionBatch:
        """This batch with its tensors on ``device``."""
        y = None if self.y is None else self.y.to(device, non_blocking=non_blocking)
        return DepictionBatch(self.pixels.to(device, non_blocking=non_blocking), y)


class DepictedMolecules:
    """RDKit depictions of molecules, collated into ``DepictionBatch`` es.

    Args:
        smiles: the molecules (the ones a graph model of the same data keeps, in its order).
        preprocessing: an image encoder checkpoint's recorded preprocessing (``image_size``, ``channels``,
            ``normalization``); the depictions are drawn at that size and channel count and normalized so.
        cache: directory of rendered depictions (default ``~/.cache/molssl/depictions``).
        source: the data's name, for error messages.

    Raises:
        ValueError: a non-square image size, channels other than 1 or 3, or a SMILES RDKit cannot read
            (naming its row).
    """

    def __init__(self, smiles: Sequence[str], preprocessing: Mapping[str, Any], *, cache: str | None = None,
                 source: str = "<memory>") -> None:  # fmt: skip
        from molssl.vision.depict import depict

        height, width = (list(np.atleast_1d(preprocessing["image_size"])) * 2)[:2]
        channels = int(preprocessing["channels"])
        if height != width or channels not in (1, 3):
            raise ValueError(f"depictions are square with 1 or 3 channels; the encoder expects {height}x{width} with "
                             f"{channels} channels")  # fmt: skip
        norm = preprocessing["normalization"]
        images = depict(list(smiles), int(height), channels == 3, cache=cache, source=source)
        self.source = ImageSource(images, path=source, mean=norm["mean"], std=norm["std"])

    def __len__(self) -> int:
        return len(self.source)

    def collate(self, indices: np.ndarray, extra: dict[str, Any] | None = None) -> DepictionBatch:
        """The batch of molecules ``indices``; ``extra["y"]`` ([B, T] labels) rides along.

        Shapes:
            indices: [B] -> DepictionBatch.pixels [B, C, H, W]
        """
        rows = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        y = None if extra is None else extra.get("y")
        return DepictionBatch(self.source.batch(rows).normalized(), y=y)

    def describe(self) -> dict[str, Any]:
        """Counts and preprocessing worth reporting."""
        return {"molecules": len(self), **self.source.preprocessing()}


#: ``PropertyPredictor(encoder=...)`` names of the image encoders (their kinds)
IMAGE_ENCODERS = ("resnet", "vit")


def image_encoder_config(encoder: Any, options: Mapping[str, Any]) -> Any:
    """The image encoder ``PropertyPredictor(encoder=...)`` asks for, or None when it asks for another kind.

    ``encoder`` is an image encoder config or its kind (``"resnet"``, ``"vit"``); ``options`` are its fields.
    A fine-tuned image model reads depictions drawn and normalized as its pretrained checkpoint records, so
    it starts from one (``fit(pretrained=...)``), whose architecture then replaces this one.
    """
    from molssl.nn.encoders import config_from_dict

    if getattr(encoder, "kind", None) in IMAGE_ENCODERS and not isinstance(encoder, str):
        return encoder
    if encoder not in IMAGE_ENCODERS:
        return None
    return config_from_dict({"kind": encoder, **options})


def is_image_encoder(config: Any) -> bool:
    """Whether ``config`` is an image encoder's (its model reads ``DepictedMolecules``)."""
    return getattr(config, "kind", None) in IMAGE_ENCODERS

