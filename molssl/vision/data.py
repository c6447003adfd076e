"""Images as a pretraining and evaluation data source, and the "image" opener of ``molssl.pretrain.source``.

``ImageSource`` holds a whole image set in memory as uint8 (a 5,000-digit set is 4 MB, Fashion-MNIST 55 MB)
and collates ``ImageBatch`` es of float32 pixels in [0, 1] carrying the set's normalization; the view recipes
augment and normalize them on the training device. The opener reads:

- ``None`` / ``"mnist"``: the embedded 5,000 MNIST digits (``datasets/mnist``);
- a directory or file in MNIST's IDX format (``*-images-idx3-ubyte[.gz]`` with its ``*-labels-idx1-ubyte[.gz]``),
  as MNIST and Fashion-MNIST are distributed (option ``split``: the file prefix, e.g. ``train`` or ``t10k``);
- ``.npz`` (arrays ``images`` and optionally ``labels``) and ``.npy`` (images only) files: uint8 0-255 or
  floats in [0, 1], shaped [N, H, W], [N, C, H, W] or [N, H, W, C] (C = 1 or 3);
- a directory of PNG files, one sub-directory per class (labels in sorted sub-directory order);
- a SMILES file (``.smi``, ``.csv``, optionally ``.gz``): RDKit depictions of the molecules
  (``molssl.vision.depict``; options ``depict_size``, ``depict_color``).

Normalization (per-channel mean and std, recorded in ``describe()`` and in the encoder checkpoint) is by
default computed from the images read; options ``mean`` and ``std`` set it (a probe uses the encoder's).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

from molssl.pretrain.source import DataSource, register_source
from molssl.ssl.checks import check_known_keys
from molssl.vision.batch import ImageBatch

#: the embedded digits (see datasets/mnist/README.md)
MNIST_IMAGES = "mnist/mnist_5k-images-idx3-ubyte.gz"
MNIST_LABELS = "mnist/mnist_5k-labels-idx1-ubyte.gz"
SMILES_SUFFIXES = (".smi", ".csv", ".tsv", ".txt")


class ImageSource(DataSource):
    """A labeled or unlabeled set of equally sized images, kept as uint8.

    Args:
        images: [N, C, H, W] uint8 pixels.
        labels: [N] int64 class labels, or None.
        path: where the images came from, for messages and ``describe``.
        digest: sha256 of what was read (file, or files in order).
        mean, std: the per-channel normalization; None computes it from ``images``.
        extra: more plain data for ``describe`` (e.g. how depictions were rendered).
    """

    modality: ClassVar[str] = "image"
    unit: ClassVar[str] = "images"

    def __init__(self, images: Tensor, labels: Tensor | None = None, *, path: str = "<memory>", digest: str | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 extra: dict[str, Any] | None = None) -> None:  # fmt: skip
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"{path}: ImageSource takes [N, C, H, W] uint8 images, got {tuple(images.shape)} {images.dtype}")
        if images.size(0) == 0:
            raise ValueError(f"{path}: no images")
        if labels is not None and (labels.dim() != 1 or labels.size(0) != images.size(0)):
            raise ValueError(f"{path}: {images.size(0)} images but labels of shape {tuple(labels.shape)}")
        self.images = images
        self.labels = None if labels is None else labels.to(torch.int64)
        self.path = path
        self.digest = digest
        self.extra = dict(extra or {})
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither (computed from the images)")
        if mean is None:
            mean, std = channel_statistics(images)
        channels = images.size(1)
        if len(mean) != channels or len(std) != channels or min(std) <= 0:
            raise ValueError(f"{path}: normalization needs {channels} means and {channels} stds > 0, got {mean} and {std}")
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __len__(self) -> int:
        return self.images.size(0)

    @property
    def num_classes(self) -> int | None:
        """1 + the largest label, or None without labels."""
        return None if self.labels is None else int(self.labels.max()) + 1

    def batch(self, indices: Tensor, generator: torch.Generator | None = None) -> ImageBatch:
        """Images ``indices`` as float32 in [0, 1] with their labels; draws nothing (views are drawn by methods).

        Shapes:
            indices: [B] int64 -> ImageBatch.images [B, C, H, W]
        """
        images = self.images[indices].to(torch.float32).div_(255.0)
        labels = None if self.labels is None else self.labels[indices]
        return ImageBatch(images, labels, self.mean, self.std)

    def preprocessing(self) -> dict[str, Any]:
        """Image size, channels and normalization: what an encoder trained on these images expects."""
        return {
            "image_size": [self.images.size(2), self.images.size(3)],
            "channels": self.images.size(1),
            "normalization": {"mean": list(self.mean), "std": list(self.std)},
        }

    def describe(self) -> dict[str, Any]:
        """What was read (path, sha256, counts, classes) and how (``preprocessing``)."""
        return {"modality": self.modality, "path": self.path, "sha256": self.digest, "images": len(self),
                "num_classes": self.num_classes, **self.preprocessing(), **self.extra}  # fmt: skip

    def encoder_options(self) -> dict[str, Any]:
        """The input channels every image encoder must take."""
        return {"in_channels": self.images.size(1)}

    def with_preprocessing(self, preprocessing: dict[str, Any]) -> ImageSource:
        """This source normalized as ``preprocessing`` (an encoder checkpoint's) says.

        Raises:
            ValueError: the images' size or channels differ from the recorded ones.
        """
        mine = self.preprocessing()
        for key in ("image_size", "channels"):
            if key in preprocessing and list(np.atleast_1d(preprocessing[key])) != list(np.atleast_1d(mine[key])):
                raise ValueError(f"{self.path}: images have {key} {mine[key]}, the encoder was trained on {preprocessing[key]}")
        norm = preprocessing.get("normalization") or mine["normalization"]
        return ImageSource(self.images, self.labels, path=self.path, digest=self.digest, mean=norm["mean"],
                           std=norm["std"], extra=self.extra)  # fmt: skip


def channel_statistics(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images scaled to [0, 1], rounded to 4 decimals. Shapes: [N, C, H, W]"""
    x = images.to(torch.float64).div(255.0).transpose(0, 1).reshape(images.size(1), -1)  # [C, N*H*W]
    mean = tuple(round(float(m), 4) for m in x.mean(1))
    std = tuple(max(round(float(s), 4), 1e-4) for s in x.std(1, unbiased=False))
    return mean, std


# ------------------------------------------------------------------------------------------------ readers


def _open_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An array in the IDX format of the MNIST files (optionally gzip-compressed): uint8 data only.

    Raises:
        ValueError: not an IDX file of uint8 data, or a size that does not match its header, naming the file.
    """
    path = Path(path)
    data = _open_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX file")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or ndim < 1:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()}, expected 000008xx)")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes), the file holds {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape).copy()


def as_uint8_images(array: np.ndarray, where: str) -> Tensor:
    """[N, C, H, W] uint8 from an [N, H, W], [N, C, H, W] or [N, H, W, C] array of uint8 or floats in [0, 1]."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] not in (1, 3) and array.shape[3] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"{where}: images must be [N, H, W], [N, C, H, W] or [N, H, W, C] with C 1 or 3, got {array.shape}")
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array))
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{where}: images must be uint8 (0-255) or floats in [0, 1], got {array.dtype}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ValueError(f"{where}: float images must lie in [0, 1] (found {np.nanmin(array)} to {np.nanmax(array)})")
    return torch.from_numpy(np.ascontiguousarray(np.round(array * 255.0).astype(np.uint8)))


def as_labels(array: np.ndarray, n: int, where: str) -> Tensor:
    """[N] int64 labels >= 0."""
    array = np.asarray(array)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{where}: labels must be one per image ({n}), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) or (n and array.min() < 0):
        raise ValueError(f"{where}: labels must be integers >= 0 (class indices), got {array.dtype}")
    return torch.from_numpy(array.astype(np.int64))


def _digest(paths: Sequence[Path]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def _idx_pair(data: Path, split: str | None) -> tuple[Path, Path | None]:
    """The images file and its labels file (or None) that ``data`` (a directory or an images file) names."""
    if data.is_file():
        labels = data.with_name(data.name.replace("images-idx3", "labels-idx1"))
        return data, labels if labels != data and labels.is_file() else None
    candidates = sorted(p for p in data.iterdir() if "-images-idx3-ubyte" in p.name)
    if split is not None:
        candidates = [p for p in candidates if p.name.startswith(f"{split}-images")]
    if len(candidates) != 1:
        names = ", ".join(p.name for p in sorted(data.iterdir()) if "-images-idx3-ubyte" in p.name) or "none"
        raise ValueError(f"{data}: choose one IDX images file with the option split=PREFIX "
                         f"(found {names}{'' if split is None else f'; none starts with {split}-images'})")  # fmt: skip
    return _idx_pair(candidates[0], None)


def read_png_folder(directory: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images and labels of a folder of class sub-folders holding PNG files (classes in sorted order)."""
    from PIL import Image  # pillow comes with matplotlib

    classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
    images, labels, first_shape = [], [], None
    for label, name in enumerate(classes):
        for file in sorted((directory / name).glob("*.png")):
            with Image.open(file) as image:
                array = np.asarray(image.convert("L" if image.mode in ("L", "I", "1", "P") else "RGB"))
            shape = array.shape
            if first_shape is None:
                first_shape = shape
            elif shape != first_shape:
                raise ValueError(f"{file}: image of shape {shape}, the others are {first_shape}; resize them to one size")
            images.append(array)
            labels.append(label)
    if not images:
        raise ValueError(f"{directory}: no PNG files in class sub-folders (expected {directory}/CLASS/*.png)")
    return np.stack(images), np.asarray(labels), classes


@dataclass(frozen=True, kw_only=True)
class ImageDataOptions:
    """The image opener's options (``molssl pretrain --data-option KEY=VALUE``).

    Attributes:
        split: IDX file prefix in a directory holding several (``train``, ``t10k``).
        mean, std: per-channel normalization (default: computed from the images).
        depict_size, depict_color: side in pixels and RGB (else grayscale) of RDKit depictions of SMILES files.
        smiles_column: the SMILES column of a CSV of molecules.
        cache: directory of rendered depictions (default ``~/.cache/molssl/depictions``).
    """

    split: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    depict_size: int = 64
    depict_color: bool = False
    smiles_column: str | None = None
    cache: str | None = None

    def __post_init__(self) -> None:
        for name in ("mean", "std"):
            value = getattr(self, name)
            if isinstance(value, (int, float)):
                object.__setattr__(self, name, (float(value),))
            elif isinstance(value, str):
                object.__setattr__(self, name, tuple(float(v) for v in value.split(",")))
            elif value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))


def open_image_source(data: Any = None, options: dict[str, Any] | None = None, *, labels: bool = False,
                      workers: int = 1) -> ImageSource:  # fmt: skip
    """Open ``data`` (see the module docstring) as an ``ImageSource``.

    Raises:
        ValueError: unknown options, unreadable or inconsistent data, or ``labels=True`` for data without labels.
        FileNotFoundError: a path that does not exist.
    """
    options = dict(options or {})
    check_known_keys(ImageDataOptions, options)
    opts = ImageDataOptions(**options)
    norm = {"mean": opts.mean, "std": opts.std}
    if isinstance(data, ImageSource):
        source = data
    elif data is None or (isinstance(data, str) and data in ("mnist", "embedded")):
        from molssl.data.embedded import embedded_file

        files = [embedded_file(MNIST_IMAGES), embedded_file(MNIST_LABELS)]
        images = as_uint8_images(read_idx(files[0]), str(files[0]))
        source = ImageSource(images, as_labels(read_idx(files[1]), len(images), str(files[1])),
                             path="embedded:" + MNIST_IMAGES, digest=_digest(files), **norm)  # fmt: skip
    else:
        source = _open_path(Path(data), opts)
        if opts.mean is not None:
            source = ImageSource(source.images, source.labels, path=source.path, digest=source.digest, extra=source.extra,
                                 **norm)  # fmt: skip
    if labels and source.labels is None:
        raise ValueError(f"{source.path}: these images have no labels; give labeled images (IDX with labels, .npz with "
                         "'labels', class folders)")  # fmt: skip
    return source


def _open_path(path: Path, opts: ImageDataOptions) -> ImageSource:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such image file or directory")
    name = path.name.lower().removesuffix(".gz")
    if (path.is_dir() and any("-images-idx3-ubyte" in p.name for p in path.iterdir())) or "-images-idx3-ubyte" in name:
        images_file, labels_file = _idx_pair(path, opts.split)
        images = as_uint8_images(read_idx(images_file), str(images_file))
        labels = None if labels_file is None else as_labels(read_idx(labels_file), len(images), str(labels_file))
        files = [images_file] + ([labels_file] if labels_file is not None else [])
        return ImageSource(images, labels, path=str(images_file), digest=_digest(files))
    if path.is_dir():
        array, label_array, classes = read_png_folder(path)
        images = as_uint8_images(array, str(path))
        pngs = sorted(path.glob("*/*.png"))
        return ImageSource(images, as_labels(label_array, len(images), str(path)), path=str(path), digest=_digest(pngs),
                           extra={"classes": classes})  # fmt: skip
    if name.endswith(".npz"):
        with np.load(path, allow_pickle=False) as arrays:
            if "images" not in arrays:
                raise ValueError(f"{path}: an .npz of images needs an array 'images' (and optionally 'labels'); "
                                 f"it holds {sorted(arrays.files)}")  # fmt: skip
            images = as_uint8_images(arrays["images"], f"{path}['images']")
            labels = as_labels(arrays["labels"], len(images), f"{path}['labels']") if "labels" in arrays else None
        return ImageSource(images, labels, path=str(path), digest=_digest([path]))
    if name.endswith(".npy"):
        images = as_uint8_images(np.load(path, allow_pickle=False), str(path))
        return ImageSource(images, path=str(path), digest=_digest([path]))
    if name.endswith(SMILES_SUFFIXES):
        return _depictions(path, opts)
    raise ValueError(f"{path}: not image data molssl reads (IDX, .npz, .npy, a folder of class folders of PNGs, "
                     "or a SMILES file to depict)")  # fmt: skip


def _depictions(path: Path, opts: ImageDataOptions) -> ImageSource:
    """An unlabeled source of the RDKit depictions of a SMILES file's molecules."""
    from molssl.data.corpus import read_smiles_file
    from molssl.files import file_sha256
    from molssl.vision.depict import DEPICTION_VERSION, depict

    corpus = read_smiles_file(path, opts.smiles_column)
    images = depict(corpus.smiles, opts.depict_size, opts.depict_color, cache=opts.cache, source=corpus.source,
                    rows=corpus.rows.tolist())  # fmt: skip
    extra = {"depiction": {"renderer": "rdkit MolDraw2DCairo", "version": DEPICTION_VERSION, "molecules": len(images)}}
    return ImageSource(images, path=corpus.source, digest=file_sha256(path), extra=extra)


register_source("image", open_image_source)
