"""The one check every plain-data config's ``from_dict`` makes: no key the dataclass does not have."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


def check_known_keys(cls: type, data: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the unknown keys of ``data`` and the valid fields of dataclass ``cls``.

    Valid keys are listed in declaration order, so the message reads like the class.
    """
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {unknown}; valid keys: {', '.join(valid)}")


__all__ = ["check_known_keys"]
