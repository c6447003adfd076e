"""Atom-level SMILES tokenizer with a plain-JSON vocabulary (Schwaller et al., ACS Cent. Sci. 2019).

The regular expression of the Molecular Transformer (Schwaller et al., "Molecular Transformer: A Model
for Uncertainty-Calibrated Chemical Reaction Prediction", 2019), used since by the SMILES language
models (ChemBERTa, MolBERT): a bracket atom ``[C@@H]`` or ``[NH3+]`` is one token, so chirality, charge
and hydrogen count stay attached to their atom; ``Br`` and ``Cl`` are one token; ring-bond labels are a
digit or ``%nn``; bonds (``- = # $ : / \\``), branches, ``.``, ``*`` and the stereo marks ``@``/``@@``
outside brackets are tokens of their own. A last catch-all alternative makes every character part of a
token, so ``"".join(tokenize(s)) == s`` for every string: nothing is dropped, and a character the
grammar does not know becomes a token the vocabulary does not hold (``[UNK]``, counted).

The vocabulary is built from a corpus with a frequency cut-off and saved as versioned JSON; loading
needs no pickles and no library but this one. Tokens missing from the vocabulary become ``[UNK]``
(``unknown="unk"``) or their UTF-8 bytes (``unknown="bytes"``: 256 byte tokens ``<0xNN>`` are part of the
vocabulary, so ``decode(encode(s)) == s`` for any text, the byte-level fallback for free text). Either
way each ``encode`` reports how many tokens were unknown (``Encoding.unknown``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from molssl.ssl.checks import check_known_keys

#: version of the token grammar (``SMILES_PATTERN``); part of the vocabulary file
GRAMMAR_VERSION = 1
#: format version of the vocabulary JSON
VOCAB_FORMAT_VERSION = 1
VOCAB_FORMAT = "molssl.smiles_vocabulary"

# Schwaller et al.'s alternatives, two-letter elements first, then one catch-all character
SMILES_PATTERN = (
    r"\[[^\[\]]+\]|Br|Cl|%\d{2}|@@|N|O|S|P|F|I|B|C|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|\d|."
)
_SMILES_RE = re.compile(SMILES_PATTERN, re.DOTALL)

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
#: special tokens, always ids 0..4 in this order
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
#: the byte tokens of the byte-level fallback
BYTE_TOKENS = tuple(f"<0x{b:02X}>" for b in range(256))
UNKNOWN_POLICIES = ("unk", "bytes")


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES string into atom-level tokens; ``"".join(tokenize(s)) == s`` always.

    Raises:
        TypeError: for a non-string input.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"expected a SMILES string, got {type(smiles).__name__}")
    return _SMILES_RE.findall(smiles)


def detokenize(tokens: Iterable[str]) -> str:
    """Inverse of ``tokenize``: the tokens joined (special tokens are not removed)."""
    return "".join(tokens)


@dataclass(frozen=True)
class Encoding:
    """One encoded string.

    Attributes:
        ids: token ids, with ``[CLS]`` first and ``[SEP]`` last when added.
        unknown: tokens that were not in the vocabulary (encoded as ``[UNK]`` or as bytes).
        truncated: the string had more tokens than ``max_length`` allowed.
    """

    ids: list[int]
    unknown: int = 0
    truncated: bool = False


class SmilesTokenizer:
    """Token <-> id mapping over an atom-level SMILES vocabulary (plain data: ``to_dict``/``from_dict``).

    Args:
        tokens: the corpus tokens of the vocabulary, in id order after the special (and byte) tokens.
        unknown: ``"unk"`` (a token outside the vocabulary becomes ``[UNK]``) or ``"bytes"`` (it becomes
            its UTF-8 byte tokens, so any text round-trips).
        min_frequency: the cut-off the vocabulary was built with (recorded only).
        corpus: a description of the corpus it was built from (recorded only).
    """

    def __init__(self, tokens: Sequence[str], *, unknown: str = "unk", min_frequency: int = 1,
                 corpus: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown must be one of {', '.join(UNKNOWN_POLICIES)}, got {unknown!r}")
        reserved = set(SPECIAL_TOKENS) | (set(BYTE_TOKENS) if unknown == "bytes" else set())
        clash = [t for t in tokens if t in reserved]
        if clash or len(set(tokens)) != len(tokens):
            raise ValueError(f"vocabulary tokens must be unique and not reserved, got duplicates or reserved {clash[:5]}")
        self.unknown = unknown
        self.min_frequency = int(min_frequency)
        self.corpus = dict(corpus or {})
        self.corpus_tokens = tuple(tokens)
        self.itos: tuple[str, ...] = SPECIAL_TOKENS + (BYTE_TOKENS if unknown == "bytes" else ()) + self.corpus_tokens
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self._byte_offset = len(SPECIAL_TOKENS)

    # --- ids of the special tokens ---
    pad_id = SPECIAL_TOKENS.index(PAD)
    unk_id = SPECIAL_TOKENS.index(UNK)
    cls_id = SPECIAL_TOKENS.index(CLS)
    sep_id = SPECIAL_TOKENS.index(SEP)
    mask_id = SPECIAL_TOKENS.index(MASK)

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def num_special(self) -> int:
        """Ids below this are special tokens (never masked, never drawn as random replacements)."""
        return len(SPECIAL_TOKENS)

    @classmethod
    def build(cls, smiles: Iterable[str], *, min_frequency: int = 1, unknown: str = "unk",
              corpus: Mapping[str, Any] | None = None) -> "SmilesTokenizer":  # fmt: skip
        """A vocabulary of every token seen at least ``min_frequency`` times, most frequent first (ties by token)."""
        if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
            raise ValueError(f"min_frequency must be an int >= 1, got {min_frequency!r}")
        counts: Counter[str] = Counter()
        molecules = 0
        for s in smiles:
            counts.update(tokenize(s))
            molecules += 1
        kept = sorted((t for t, c in counts.items() if c >= min_frequency), key=lambda t: (-counts[t], t))
        reserved = set(SPECIAL_TOKENS) | set(BYTE_TOKENS)
        kept = [t for t in kept if t not in reserved]
        record = {**dict(corpus or {}), "molecules": molecules, "distinct_tokens": len(counts),
                  "dropped_tokens": len(counts) - len(kept)}  # fmt: skip
        return cls(kept, unknown=unknown, min_frequency=min_frequency, corpus=record)

    def token_id(self, token: str) -> int | None:
        """The id of ``token``, or None when it is not in the vocabulary."""
        return self.stoi.get(token)

    def encode(self, text: str, *, add_special: bool = True, max_length: int | None = None) -> Encoding:
        """Token ids of ``text`` (``[CLS] ... [SEP]`` with ``add_special``), truncated to ``max_length`` ids."""
        ids: list[int] = [self.cls_id] if add_special else []
        unknown = 0
        for token in tokenize(text):
            i = self.stoi.get(token)
            if i is not None and i >= self.num_special + (256 if self.unknown == "bytes" else 0):
                ids.append(i)
                continue
            unknown += 1
            if self.unknown == "bytes":
                ids.extend(self._byte_offset + b for b in token.encode("utf-8"))
            else:
                ids.append(self.unk_id)
        if add_special:
            ids.append(self.sep_id)
        truncated = max_length is not None and len(ids) > max_length
        if truncated:
            ids = ids[: max_length - 1] + ([self.sep_id] if add_special else [ids[max_length - 1]])
        return Encoding(ids, unknown, truncated)

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Text of token ids; byte tokens are joined back into UTF-8 (invalid sequences replaced)."""
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i} outside the vocabulary of {len(self.itos)} tokens")
            if self.unknown == "bytes" and self._byte_offset <= i < self._byte_offset + 256:
                pending.append(i - self._byte_offset)
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            if i < self.num_special and skip_special:
                continue
            out.append(self.itos[i])
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    def unknown_report(self, texts: Iterable[str], limit: int = 10) -> dict[str, Any]:
        """Which tokens of ``texts`` the vocabulary lacks: counts of the most frequent ones and totals."""
        missing: Counter[str] = Counter()
        total = 0
        for text in texts:
            tokens = tokenize(text)
            total += len(tokens)
            missing.update(t for t in tokens if t not in self.stoi or self.stoi[t] < self.num_special)
        return {"tokens": total, "unknown": sum(missing.values()), "distinct_unknown": len(missing),
                "most_common": missing.most_common(limit)}  # fmt: skip

    # --- plain data ---

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary as versioned plain data (what ``save`` writes)."""
        return {"format": VOCAB_FORMAT, "version": VOCAB_FORMAT_VERSION, "grammar_version": GRAMMAR_VERSION,
                "special_tokens": list(SPECIAL_TOKENS), "unknown": self.unknown, "min_frequency": self.min_frequency,
                "corpus": self.corpus, "tokens": list(self.corpus_tokens)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SmilesTokenizer":
        """Inverse of ``to_dict``; another format, version or token grammar is an error saying which."""
        check_known_keys(_VocabularyFields, data)
        if data.get("format") != VOCAB_FORMAT:
            raise ValueError(f"not a molssl SMILES vocabulary (format {data.get('format')!r}, expected {VOCAB_FORMAT!r})")
        if data.get("version") != VOCAB_FORMAT_VERSION or data.get("grammar_version") != GRAMMAR_VERSION:
            raise ValueError(f"vocabulary version {data.get('version')} / grammar {data.get('grammar_version')} is not "
                             f"readable by this molssl (version {VOCAB_FORMAT_VERSION}, grammar {GRAMMAR_VERSION})")  # fmt: skip
        if tuple(data.get("special_tokens", ())) != SPECIAL_TOKENS:
            raise ValueError(f"vocabulary special tokens {data.get('special_tokens')} differ from {list(SPECIAL_TOKENS)}")
        return cls(data["tokens"], unknown=data["unknown"], min_frequency=data["min_frequency"], corpus=data["corpus"])

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the id mapping (what a model's embedding rows mean)."""
        mapping = {"grammar_version": GRAMMAR_VERSION, "unknown": self.unknown, "itos": list(self.itos)}
        return hashlib.sha256(json.dumps(mapping, sort_keys=True).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """Short record of the preprocessing: size, policy and digest (for configs and checkpoints)."""
        return {"tokenizer": "smiles_atom_regex", "grammar_version": GRAMMAR_VERSION, "vocab_size": len(self),
                "unknown": self.unknown, "vocab_sha256": self.digest()}  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON to ``path``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SmilesTokenizer":
        """Read a vocabulary written by ``save``; errors name the file."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class _VocabularyFields:
    """The keys of the vocabulary JSON (for the unknown-key check)."""

    format: str
    version: int
    grammar_version: int
    special_tokens: list
    unknown: str
    min_frequency: int
    corpus: dict
    tokens: list
