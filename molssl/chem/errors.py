"""Errors and per-row records of featurization: rows left out, rows kept only by lenient sanitization."""

from __future__ import annotations

from dataclasses import dataclass


_SHOWN_CHARS = 120


def shown(smiles: object) -> str:
    """``repr(smiles)``, cut to its first characters when it is long (for messages and reports)."""
    text = repr(smiles)
    if len(text) <= 2 * _SHOWN_CHARS:
        return text
    return f"{text[:_SHOWN_CHARS]}... ({len(smiles) if isinstance(smiles, str) else len(text)} characters)"


class FeaturizationError(ValueError):
    """A SMILES string could not be turned into a graph.

    Attributes:
        smiles: the offending input, as given.
        reason: why (RDKit's own message where it gave one).
        row: 0-based row of the input in its list or file, when known.
        source: the file the row came from, when known.
    """

    def __init__(self, smiles: object, reason: str, row: int | None = None, source: str | None = None):
        self.smiles = smiles
        self.reason = reason
        self.row = row
        self.source = source
        where = ""
        if source is not None:
            where += f"{source}: "
        if row is not None:
            where += f"row {row}: "
        super().__init__(f"{where}cannot featurize SMILES {shown(smiles)}: {reason}")


def describe_exception(exc: BaseException) -> str:
    """``"TypeName: message"``, keeping the first two lines of the message (RDKit's run to a dozen)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {': '.join(lines[:2])}" if lines else type(exc).__name__


@dataclass(frozen=True)
class RowRecord:
    """Something that happened to one input row: its 0-based index, the SMILES as given, and why."""

    index: int
    smiles: str
    reason: str

    def to_dict(self) -> dict:
        return {"index": self.index, "smiles": self.smiles, "reason": self.reason}


@dataclass(frozen=True)
class SkippedRow(RowRecord):
    """One input row left out of a featurized result, and why."""


@dataclass(frozen=True)
class LenientRow(RowRecord):
    """One input row kept only because sanitization was lenient, and what strict sanitization objected to."""
