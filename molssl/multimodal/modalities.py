"""The modalities a molecule is paired in, and how a list of them is given (``"graph,smiles"`` or a sequence)."""

from __future__ import annotations

from typing import Sequence

#: the modalities a molecule is paired in, and the front-end modality (``molssl.pretrain.source``) of each
MODALITIES: dict[str, str] = {"graph": "graph", "smiles": "text", "image": "image"}


def check_modalities(modalities: str | Sequence[str], *, least: int = 1) -> tuple[str, ...]:
    """Modality names as a tuple (``"graph,smiles"`` or a sequence), each known and given once.

    Raises:
        ValueError: an unknown or repeated name, or fewer than ``least``.
    """
    names = tuple(m.strip() for m in modalities.split(",")) if isinstance(modalities, str) else tuple(modalities)
    unknown = [m for m in names if m not in MODALITIES]
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; valid modalities: {', '.join(MODALITIES)}")
    if len(set(names)) != len(names) or len(names) < least:
        raise ValueError(f"give at least {least} distinct modalities of {', '.join(MODALITIES)}, got {list(names)}")
    return names


__all__ = ["MODALITIES", "check_modalities"]
