"""What a featurization scheme produces, as one frozen, versioned value: ``FeaturizationSpec``.

A scheme (``molssl.chem.schemes``) builds its spec once, as a class attribute; everything downstream of
featurization (encoder embeddings, masking tokens, stores, checkpoints, the OGB harness) reads the spec's
typed fields instead of string keys of a dict. ``to_dict`` is the plain data written into ``config.json``
of checkpoints and into store metadata, unchanged from the dict these files have always held, so files
written before the spec existed load with ``from_dict``.

Versioning: ``(name, version)`` identifies a spec. Any change to another field of a registered scheme
needs a version bump; loading a checkpoint whose spec differs from the requested one under the same name
and version is refused (``molssl.checkpoint``).

This module imports neither RDKit, numpy nor torch, so expanding a scheme name stays light.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _names(field: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"featurization spec {field} must be a non-empty list of column names, got {value!r}")
    if any(not isinstance(v, str) or not v for v in value):
        raise ValueError(f"featurization spec {field} must hold non-empty strings, got {value!r}")
    return tuple(value)


def _ints(field: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"featurization spec {field} must be a list of ints, got {value!r}")
    if any(not isinstance(v, int) or isinstance(v, bool) for v in value):
        raise ValueError(f"featurization spec {field} must hold ints, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class FeaturizationSpec:
    """The integer atom and bond feature columns a featurization scheme writes, and their reserved rows.

    Attributes:
        name: the scheme's registry name (``"hu"``, ``"ogb"``) or a derived feature set's (``"ogb-simple"``).
        version: bumped whenever any other field changes.
        atom_features: names of the atom feature columns, ``F_atom`` of them.
        bond_features: names of the bond feature columns, ``F_bond`` of them.
        atom_vocab: number of values each atom column takes, reserved tokens included (embedding sizes).
        bond_vocab: the same for bond columns.
        atom_mask_token: the atom row attribute masking writes (one value per atom column), or None.
        bond_mask_token: the bond row attribute masking writes, or None.
        self_loop_token: bond features of the self-loop edges GIN-style layers add, if the scheme reserves them.

    Shapes:
        graph arrays featurized with this spec: x [N, F_atom], edge_attr [E, F_bond], every value of
        column j in ``range(vocab[j])``.
    """

    name: str
    version: int
    atom_features: tuple[str, ...]
    bond_features: tuple[str, ...]
    atom_vocab: tuple[int, ...]
    bond_vocab: tuple[int, ...]
    atom_mask_token: tuple[int, ...] | None = None
    bond_mask_token: tuple[int, ...] | None = None
    self_loop_token: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"featurization spec name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 1:
            raise ValueError(f"featurization spec {self.name!r}: version must be an int >= 1, got {self.version!r}")
        for what in ("atom", "bond"):
            names = _names(f"{what}_features", getattr(self, f"{what}_features"))
            vocab = _ints(f"{what}_vocab", getattr(self, f"{what}_vocab"))
            if len(vocab) != len(names) or any(v < 1 for v in vocab):
                raise ValueError(
                    f"featurization spec {self.name!r}: {what}_vocab must hold one positive size per {what} "
                    f"feature {list(names)}, got {list(vocab)}"
                )
            object.__setattr__(self, f"{what}_features", names)
            object.__setattr__(self, f"{what}_vocab", vocab)
        for field, vocab in (
            ("atom_mask_token", self.atom_vocab),
            ("bond_mask_token", self.bond_vocab),
            ("self_loop_token", self.bond_vocab),
        ):
            token = getattr(self, field)
            if token is None:
                continue
            token = _ints(field, token)
            if len(token) != len(vocab) or any(not 0 <= t < v for t, v in zip(token, vocab)):
                raise ValueError(
                    f"featurization spec {self.name!r}: {field} must be None or one value per column inside "
                    f"the vocabulary {list(vocab)}, got {list(token)}"
                )
            object.__setattr__(self, field, token)

    @property
    def label(self) -> str:
        """``'name' vN``, for messages."""
        return f"{self.name!r} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON data (lists for tuples), as checkpoints and stores record it."""
        return {
            f.name: list(value) if isinstance(value, tuple) else value
            for f in dataclasses.fields(self)
            for value in [getattr(self, f.name)]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeaturizationSpec:
        """The spec recorded by ``to_dict`` (a checkpoint's or store's ``"scheme"``); bad data raises ``ValueError``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a featurization spec must be a dict (FeaturizationSpec.to_dict()), got {type(data).__name__}")
        fields = dataclasses.fields(cls)
        unknown = sorted(str(k) for k in set(data) - {f.name for f in fields})
        missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in data]
        if unknown or missing:
            raise ValueError(
                f"featurization spec {data.get('name')!r}: unknown keys {unknown}, missing keys {missing}; "
                f"a spec records {', '.join(f.name for f in fields)}"
            )
        return cls(**data)


__all__ = ["FeaturizationSpec"]
