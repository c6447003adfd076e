"""Argument checks of the SSL core and the methods built on it: each raises ``ValueError`` saying how to fix it.

Only shapes, dtypes and Python numbers are inspected, never tensor values, so a check costs no device
synchronization.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from torch import Tensor


def check_positive_float(name: str, value: object) -> float:
    """``value`` as a float, if it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative_float(name: str, value: object) -> float:
    """``value`` as a float, if it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_unit_interval(name: str, value: object) -> float:
    """``value`` as a float, if it lies in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_fraction(name: str, value: object, low_open: bool = True) -> float:
    """``value`` as a float, if it lies in (0, 1) (``low_open=False``: in [0, 1)): a rate, ratio or share."""
    low_ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value > 0 if low_open else value >= 0)
    if not low_ok or not value < 1:
        raise ValueError(f"{name} must be a number in {'(0' if low_open else '[0'}, 1), got {value!r}")
    return float(value)


def check_positive_int(name: str, value: object) -> int:
    """``value``, if it is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def check_embeddings(name: str, x: Tensor, *, min_rows: int = 1) -> None:
    """``x`` is a floating-point [N, D] matrix with N >= ``min_rows`` and D >= 1."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be a 2-D [N, D] tensor (one embedding per row), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    if x.size(0) < min_rows or x.size(1) < 1:
        rows = "row" if min_rows == 1 else "rows"
        raise ValueError(f"{name} needs at least {min_rows} {rows} and one column, got shape {tuple(x.shape)}")


def check_pair(name_a: str, a: Tensor, name_b: str, b: Tensor, *, min_rows: int = 1) -> None:
    """``a`` and ``b`` are [N, D] embedding matrices of the same shape on the same device."""
    check_embeddings(name_a, a, min_rows=min_rows)
    check_embeddings(name_b, b, min_rows=min_rows)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; "
            "row i of each must be the same sample, so the shapes must match"
        )
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} on {b.device}; put them on the same device")


def check_known_keys(cls: type, data: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the unknown keys of ``data`` and the valid fields of dataclass ``cls``.

    The one check every plain-data config's ``from_dict`` makes. Valid keys are listed in declaration order,
    so the message reads like the class.
    """
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {unknown}; valid keys: {', '.join(valid)}")


def kind_config_kwargs(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor keywords of a config with a ``kind`` class attribute, from its ``to_dict`` output.

    A missing ``kind`` is taken as ``cls.kind``; another kind, or a key the dataclass does not have, raises
    ``ValueError`` (naming the expected kind, or listing the valid keys).
    """
    data = dict(data)
    kind = data.pop("kind", cls.kind)
    if kind != cls.kind:
        raise ValueError(f"{cls.__name__}.from_dict got kind {kind!r}, expected {cls.kind!r}")
    check_known_keys(cls, data)
    return data
