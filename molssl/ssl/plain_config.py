"""The shared ``to_dict``/``from_dict`` of plain-data configs (frozen dataclasses whose fields are JSON values)."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

from molssl.ssl.checks import check_known_keys

C = TypeVar("C", bound="PlainConfig")


class PlainConfig:
    """Base of the configs that are plain data as they stand: ``to_dict`` is ``dataclasses.asdict`` and
    ``from_dict`` refuses unknown keys (listing the valid ones) before the constructor validates the values.

    Subclasses are frozen dataclasses. A config that holds another config or a value JSON lacks (a tuple
    it must write as a list, a featurization spec) overrides ``to_dict`` and keeps ``from_dict``; one whose
    stored form differs from its fields (an older key, a nested kind) writes both of its own.

    Example:
        >>> @dataclasses.dataclass(frozen=True, kw_only=True)
        ... class LoaderConfig(PlainConfig):
        ...     batch_size: int = 32
        >>> LoaderConfig.from_dict({"batch_size": 8}).to_dict()
        {'batch_size': 8}
        >>> LoaderConfig.from_dict({"batchsize": 8})
        Traceback (most recent call last):
        ...
        ValueError: unknown LoaderConfig keys ['batchsize']; valid keys: batch_size
    """

    def to_dict(self) -> dict[str, Any]:
        """The config as plain, JSON-serializable data."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Rebuild from ``to_dict`` output; an unknown key is a ``ValueError`` naming the valid ones."""
        check_known_keys(cls, data)
        return cls(**data)


__all__ = ["PlainConfig"]
