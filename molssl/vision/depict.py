"""RDKit depictions of molecules as images, the input ImageMol pretrains on (Zeng et al., Nat. Mach. Intell. 2022).

Each molecule is drawn with RDKit's 2-D depiction (``rdMolDraw2D.MolDraw2DCairo``: new 2-D coordinates,
default atom colours, black on white), decoded and kept as uint8 [C, size, size] (C = 1 grayscale by
luminance, or 3 RGB). Rendered sets are cached on disk under a digest of their content (the SMILES in order,
size, colour, RDKit version and this module's drawing version), so a set is drawn once. A SMILES RDKit cannot
read is an error naming its row, never dropped.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

#: bump when the drawing changes, so cached sets are redrawn
DEPICTION_VERSION = 1


def depiction_digest(smiles: Sequence[str], size: int, color: bool) -> str:
    """The cache key of a rendered set: sha256 of the SMILES in order and every drawing setting."""
    from rdkit import rdBase

    sha = hashlib.sha256(f"molssl-depiction-v{DEPICTION_VERSION}|rdkit-{rdBase.rdkitVersion}|{size}|{color}\n".encode())
    for s in smiles:
        sha.update(s.encode("utf-8") + b"\n")
    return sha.hexdigest()


def depict_one(smiles: str, size: int = 64, color: bool = False, where: str = "") -> np.ndarray:
    """One molecule drawn by RDKit. Shapes: -> [C, size, size] uint8, C = 3 if ``color`` else 1

    Raises:
        ValueError: RDKit cannot read ``smiles`` (the message names ``where``, e.g. file and row).
    """
    from PIL import Image
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"{where or 'SMILES'}: RDKit cannot read {smiles!r}; fix or remove that row")
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    with Image.open(io.BytesIO(drawer.GetDrawingText())) as image:
        array = np.asarray(image.convert("RGB" if color else "L"))
    return array.transpose(2, 0, 1) if color else array[None]


def depict(smiles: Sequence[str], size: int = 64, color: bool = False, *, cache: str | os.PathLike | None = None,
           source: str = "<memory>", rows: Sequence[int] | None = None) -> torch.Tensor:  # fmt: skip
    """Depictions of every molecule, read from or written to the cache directory.

    Args:
        smiles: the molecules.
        size: image side in pixels.
        color: RGB (else grayscale).
        cache: directory of rendered sets (default ``$MOLSSL_CACHE/depictions`` or ``~/.cache/molssl/depictions``);
            a set is ``<digest>.npy``.
        source, rows: the file and its data rows, for error messages.

    Shapes:
        -> [N, C, size, size] uint8
    """
    if size < 8:
        raise ValueError(f"depiction size must be at least 8 pixels, got {size}")
    directory = Path(cache) if cache is not None else _default_cache()
    target = directory / f"{depiction_digest(smiles, size, color)}.npy"
    if target.is_file():
        array = np.load(target, allow_pickle=False)
        if array.shape == (len(smiles), 3 if color else 1, size, size) and array.dtype == np.uint8:
            return torch.from_numpy(array)
    rows = list(range(len(smiles))) if rows is None else list(rows)
    array = np.stack([depict_one(s, size, color, f"{source}, row {r}") for s, r in zip(smiles, rows)])
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".npy.tmp", delete=False) as handle:
        np.save(handle, array)
    os.replace(handle.name, target)  # atomic: a reader sees the whole set or none
    return torch.from_numpy(array)


def _default_cache() -> Path:
    from molssl.data.store_build import default_cache_dir

    return default_cache_dir() / "depictions"
