"""SMILES -> RDKit molecule, with a precise reason whenever that fails.

Every input goes through the same steps, whether it is featurized alone, in a batch or in a worker:

1. its text is checked (``smiles_text``): stripped, then rejected if it holds whitespace, non-ASCII or
   control characters, or more than ``max_smiles_length`` characters;
2. a SMILES longer than ``max_atoms`` characters (only those can hold more than ``max_atoms`` atoms) is
   parsed without sanitization and rejected if it has more than ``max_atoms`` atoms, before RDKit's ring
   perception, which takes seconds on thousands of atoms;
3. RDKit parses and sanitizes it (``Chem.MolFromSmiles``);
4. with ``sanitize="lenient"``, a molecule that failed step 3 is sanitized again without the valence
   check (RDKit's partial sanitization), the way molecules with hypervalent atoms that older RDKit
   versions accepted are kept; the caller records each such molecule with the strict failure.

Anything RDKit raises on one input (it has invariant checks that fire on hostile input) becomes that
input's reason: one input never aborts the others.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Sequence

from rdkit import Chem, rdBase

from molssl.chem.errors import FeaturizationError, describe_exception
from molssl.chem.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_SMILES_LENGTH
from molssl.chem.smiles_text import check_smiles_text

SanitizeMode = Literal["strict", "lenient"]
SANITIZE_MODES: tuple[str, ...] = ("strict", "lenient")
AtomOrder = Literal["input", "canonical"]
ATOM_ORDERS: tuple[str, ...] = ("input", "canonical")

_LENIENT_OPS = Chem.SanitizeFlags.SANITIZE_ALL ^ Chem.SanitizeFlags.SANITIZE_PROPERTIES


def _check_limit(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None (no limit), got {value!r}")


@dataclass(frozen=True)
class ParseOptions:
    """How SMILES are parsed: sanitization mode and size limits (plain data; part of a result's record).

    Attributes:
        sanitize: ``"strict"`` (RDKit's full sanitization; the default) or ``"lenient"`` (a molecule that
            fails only RDKit's valence check is kept, and reported).
        max_atoms: most atoms a molecule may have, counted as written in the SMILES (explicit hydrogens
            included); None for no limit.
        max_smiles_length: most characters a SMILES may have (after stripping surrounding whitespace);
            None for no limit.
        atom_order: ``"input"`` (the default) keeps the atoms in the order the SMILES writes them, as
            pretrain-gnns and OGB do; ``"canonical"`` renumbers every molecule into RDKit's canonical
            order (the molecule is written as canonical SMILES and parsed again). Only ``"canonical"``
            makes the graph a function of the molecule alone: RDKit's tetrahedral tags (CW/CCW) and
            double-bond directions are relative to the order in which atoms and bonds were written, so
            two spellings of one stereo molecule otherwise give graphs with different chirality
            features (and a model different predictions).
    """

    sanitize: SanitizeMode = "strict"
    max_atoms: int | None = DEFAULT_MAX_ATOMS
    max_smiles_length: int | None = DEFAULT_MAX_SMILES_LENGTH
    atom_order: AtomOrder = "input"

    def __post_init__(self) -> None:
        if self.sanitize not in SANITIZE_MODES:
            raise ValueError(f"sanitize must be one of {list(SANITIZE_MODES)}, got {self.sanitize!r}")
        if self.atom_order not in ATOM_ORDERS:
            raise ValueError(f"atom_order must be one of {list(ATOM_ORDERS)}, got {self.atom_order!r}")
        _check_limit("max_atoms", self.max_atoms)
        _check_limit("max_smiles_length", self.max_smiles_length)

    def describe(self) -> dict:
        """The options as a plain dict (for records and cache keys).

        ``atom_order`` appears only when it is ``"canonical"``, so the records and cache keys of
        input-order parsing are the ones written before the option existed.
        """
        described = {"sanitize": self.sanitize, "max_atoms": self.max_atoms, "max_smiles_length": self.max_smiles_length}
        if self.atom_order != "input":
            described["atom_order"] = self.atom_order
        return described


def _sanitization_problem(raw: Chem.Mol) -> str:
    """What RDKit's sanitization objects to in the unsanitized molecule ``raw``."""
    try:
        with rdBase.BlockLogs():
            problems = Chem.DetectChemistryProblems(raw)
    except RuntimeError as exc:  # RDKit's own pre-condition checks fire on some hostile molecules
        return f"RDKit internal error ({describe_exception(exc)})"
    return problems[0].Message() if problems else ""


def _diagnose(smiles: str) -> str:
    """Explain why RDKit rejected ``smiles`` (only called on the failure path)."""
    capture = getattr(rdBase, "CaptureErrorLog", None)
    log_text = ""
    if capture is not None:
        with capture() as log:
            raw = Chem.MolFromSmiles(smiles, sanitize=False)
        log_text = log.messages if isinstance(log.messages, str) else "\n".join(log.messages)
    else:  # older RDKit: no log capture, fall back to the structured checks
        with rdBase.BlockLogs():
            raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is None:
        details = _parse_error_details(log_text)
        return "SMILES syntax error" + (f": {details}" if details else "")
    problem = _sanitization_problem(raw)
    return f"RDKit sanitization failed: {problem}" if problem else "RDKit could not sanitize the molecule"


_TIMESTAMP = re.compile(r"^\[[^\]]*\]\s*")
_PREFIX = "SMILES Parse Error:"


def _parse_error_details(log_text: str) -> str:
    """Condense RDKit's multi-line parse-error log into one line."""
    details = []
    for line in log_text.splitlines():
        line = _TIMESTAMP.sub("", line).strip()
        if not line.startswith(_PREFIX):
            continue
        line = line[len(_PREFIX):].strip()
        if line.startswith("Failed parsing SMILES"):
            continue
        line = re.sub(r"\s*for input: '.*'$", "", line)
        line = re.sub(r"^syntax error while parsing: .*$", "", line)
        line = line.rstrip(":").strip()
        if line:
            details.append(line)
    return "; ".join(details)


def parse_reason(smiles: object, mol: Chem.Mol | None) -> str | None:
    """Return why ``mol`` (parsed from ``smiles``) is unusable, or None if it is fine."""
    if mol is not None:
        return None if mol.GetNumAtoms() > 0 else "molecule has no atoms"
    text, reason = check_smiles_text(smiles, None)
    return reason if reason is not None else _diagnose(text)


def _parse_lenient(text: str) -> tuple[Chem.Mol | None, str]:
    """Sanitize ``text`` without RDKit's valence check, as ``MolFromSmiles`` otherwise would.

    The steps are ``MolFromSmiles``'s own (remove hydrogens, sanitize, assign stereochemistry), so a
    molecule that strict parsing accepts gives the same graph here.

    Returns:
        The molecule (None if it fails even so) and what strict sanitization objected to.
    """
    raw = Chem.MolFromSmiles(text, sanitize=False)
    if raw is None:
        return None, ""
    problem = _sanitization_problem(raw)
    try:
        mol = Chem.RemoveHs(raw, sanitize=False)
        mol.UpdatePropertyCache(strict=False)
        Chem.SanitizeMol(mol, _LENIENT_OPS)
        Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    except (ValueError, RuntimeError):  # MolSanitizeException is a ValueError
        return None, ""
    return mol, f"kept with lenient sanitization (valence not checked): {problem or 'RDKit rejected it'}"


def in_canonical_order(mol: Chem.Mol, lenient: bool = False) -> Chem.Mol:
    """``mol`` with its atoms and bonds in RDKit's canonical order (written as canonical SMILES, parsed again).

    Every spelling of one molecule gives the same result, stereo tags included.

    Raises:
        ValueError: the canonical SMILES does not parse back (RDKit cannot always read what it writes).
    """
    text = Chem.MolToSmiles(mol)
    again = Chem.MolFromSmiles(text)
    if again is None and lenient:
        again, _ = _parse_lenient(text)
    if again is None or again.GetNumAtoms() != mol.GetNumAtoms():
        raise ValueError(f"its canonical SMILES {text!r} does not parse back to the same molecule (atom_order='canonical')")
    return again


def _is_plain_text(s: object, max_length: int) -> bool:
    """Whether ``s`` is a SMILES string with nothing to strip or reject (``check_smiles_text`` passes it as is)."""
    return type(s) is str and 0 < len(s) <= max_length and s.isascii() and s.isprintable() and " " not in s


def _limit(value: int | None) -> int:
    return value if value is not None else sys.maxsize


def parse_plain(smiles: object, options: ParseOptions) -> Chem.Mol | None:
    """The molecule of ``smiles`` when nothing but RDKit's strict parse is needed to get it, else None.

    That is: a string of printable ASCII without spaces, within both size limits (a SMILES of at most
    ``max_atoms`` characters cannot have more atoms), that ``Chem.MolFromSmiles`` parses and sanitizes
    into at least one atom. The molecule is the one ``parse_stream`` yields for it, in either sanitize
    mode (lenient sanitization is only tried where strict fails). None says nothing about the input:
    ``parse_stream`` then gives the molecule or the reason. RDKit's log is silenced; what RDKit raises
    propagates.
    """
    if not _is_plain_text(smiles, _limit(options.max_smiles_length)) or len(smiles) > _limit(options.max_atoms):
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            return None
        return in_canonical_order(mol) if options.atom_order == "canonical" else mol


def _unexpected(exc: Exception) -> str:
    return f"RDKit raised {describe_exception(exc)}"


def parse_stream(
    smiles: Sequence[object],
    options: ParseOptions,
    failures: list[tuple[int, str]],
    lenient: list[tuple[int, str]],
) -> Iterator[tuple[int, Chem.Mol]]:
    """Parse ``smiles`` one by one, yielding ``(position, molecule)`` for each usable one, in order.

    The caller can use each molecule while it is still in the CPU cache. Once the stream is exhausted,
    ``failures`` holds ``(position, reason)`` for every other input, in order, and ``lenient`` holds
    ``(position, reason)`` for every yielded molecule that only lenient sanitization accepted.
    """
    from_smiles = Chem.MolFromSmiles
    max_length = _limit(options.max_smiles_length)
    max_atoms = _limit(options.max_atoms)
    is_lenient = options.sanitize == "lenient"
    canonical = options.atom_order == "canonical"
    undiagnosed: list[tuple[int, str, Chem.Mol | None]] = []
    with rdBase.BlockLogs():
        for i, s in enumerate(smiles):
            try:
                if _is_plain_text(s, max_length):
                    text = s  # the fast path: nothing to strip or reject
                else:
                    text, reason = check_smiles_text(s, options.max_smiles_length)
                    if reason is not None:
                        failures.append((i, reason))
                        continue
                if len(text) > max_atoms:  # only then can it have more atoms than allowed
                    raw = from_smiles(text, sanitize=False)
                    if raw is None:
                        undiagnosed.append((i, text, None))
                        continue
                    if raw.GetNumAtoms() > max_atoms:
                        failures.append((i, (
                            f"molecule has {raw.GetNumAtoms()} atoms, more than max_atoms={options.max_atoms} "
                            f"(raise it, or pass None to disable the limit)")))  # fmt: skip
                        continue
                mol = from_smiles(text)
                if mol is None and is_lenient:
                    mol, why = _parse_lenient(text)
                    if mol is not None and mol.GetNumAtoms() > 0:
                        lenient.append((i, why))
                if mol is None or mol.GetNumAtoms() == 0:
                    undiagnosed.append((i, text, mol))
                    continue
                if canonical:
                    try:
                        mol = in_canonical_order(mol, is_lenient)
                    except ValueError as exc:
                        failures.append((i, str(exc)))
                        continue
            except Exception as exc:  # noqa: BLE001 - whatever RDKit raises on one input is that input's reason
                failures.append((i, _unexpected(exc)))
                continue
            yield i, mol
    # diagnosed outside BlockLogs, so that RDKit's messages can be captured
    for i, text, mol in undiagnosed:
        try:
            reason = parse_reason(text, mol) or "unknown"
        except Exception as exc:  # noqa: BLE001
            reason = _unexpected(exc)
        failures.append((i, reason))
    failures.sort()


def parse_smiles(smiles: str, options: ParseOptions = ParseOptions()) -> Chem.Mol:
    """Parse and sanitize one SMILES string.

    Raises:
        FeaturizationError: (a ``ValueError``) naming the SMILES and the reason: a syntax error,
            a sanitization failure such as a bad valence, whitespace or a non-ASCII character inside
            it, a size limit, an empty string, or no atoms.
    """
    failures: list[tuple[int, str]] = []
    for _, mol in parse_stream([smiles], options, failures, []):
        return mol
    raise FeaturizationError(smiles, failures[0][1])


def parse_many(
    smiles: Sequence[object], options: ParseOptions = ParseOptions()
) -> tuple[list[Chem.Mol | None], list[tuple[int, str]], list[tuple[int, str]]]:
    """Parse a list of SMILES with RDKit's log silenced.

    Returns:
        The molecules (None where parsing failed), ``(index, reason)`` for each failure and
        ``(index, reason)`` for each molecule kept by lenient sanitization.
    """
    mols: list[Chem.Mol | None] = [None] * len(smiles)
    failures: list[tuple[int, str]] = []
    lenient: list[tuple[int, str]] = []
    for i, mol in parse_stream(smiles, options, failures, lenient):
        mols[i] = mol
    return mols, failures, lenient
