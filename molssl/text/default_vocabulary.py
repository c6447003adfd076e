"""The default SMILES vocabulary: the grammar's base tokens plus every token of the embedded MOSES corpus.

MOSES (``datasets/moses``) holds no stereochemistry, charges or metals, so a vocabulary of its tokens
alone would send every ``[C@@H]`` of a MoleculeNet set to ``[UNK]`` (the "chirality lost" complaint of
SMILES language models). ``BASE_TOKENS`` adds, independently of any corpus, the tokens of the grammar
(bonds, branches, ring labels, organic-subset atoms) and the common bracket atoms: tetrahedral
centres, charged and protonated atoms, isotopes of hydrogen, common counter-ions and metals.

The vocabulary is frozen in ``vocabularies/smiles_v1.json`` (rebuilt by ``python -m
molssl.text.default_vocabulary``; a test checks the file equals a rebuild), so models keep their token
ids when the corpus or this list changes: a new vocabulary is a new file with a new name.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from molssl.text.tokenizer import SmilesTokenizer

DEFAULT_VOCABULARY = "smiles_v1"
VOCABULARY_DIR = Path(__file__).resolve().parent / "vocabularies"

_ORGANIC = ["B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I", "b", "c", "n", "o", "s", "p"]
_GRAMMAR = ["(", ")", ".", "=", "#", "-", "+", "\\", "/", ":", "~", "@", "@@", "*", "$", *"0123456789"]
_RING_LABELS = [f"%{i}" for i in range(10, 20)]
_STEREO = [f"[{a}{c}{h}]" for a in ("C", "N", "S", "P", "Si") for c in ("@", "@@") for h in ("", "H")]
_CHARGED = [
    "[O-]", "[N+]", "[N-]", "[NH+]", "[NH2+]", "[NH3+]", "[NH4+]", "[n+]", "[nH+]", "[n-]", "[nH]", "[O+]", "[OH-]",
    "[S-]", "[S+]", "[s+]", "[C-]", "[CH-]", "[CH2-]", "[P+]", "[B-]", "[N@+]", "[N@@+]", "[N@H+]", "[N@@H+]",
    "[C@@H+]", "[H]", "[H+]", "[H-]", "[2H]", "[3H]", "[13C]", "[14C]", "[18F]", "[125I]", "[11C]",
    "[Na+]", "[K+]", "[Li+]", "[Ca+2]", "[Mg+2]", "[Zn+2]", "[Fe+2]", "[Fe+3]", "[Cu+2]", "[Al+3]", "[Ba+2]",
    "[Cl-]", "[Br-]", "[I-]", "[F-]", "[Na]", "[K]", "[Li]", "[Ca]", "[Mg]", "[Zn]", "[Fe]", "[Cu]", "[Pt]", "[Co]",
    "[Se]", "[se]", "[Si]", "[SiH]", "[SiH2]", "[Sn]", "[As]", "[Hg]", "[Gd]", "[Tc]", "[Au]", "[Ag]", "[B]", "[S]",
    "[N]", "[C]", "[O]", "[P]", "[SH]", "[PH]", "[OH]", "[NH]", "[NH2]", "[CH]", "[CH2]", "[c-]", "[o+]",
]  # fmt: skip
#: the tokens every default vocabulary holds, whatever its corpus
BASE_TOKENS: tuple[str, ...] = tuple(dict.fromkeys(_ORGANIC + _GRAMMAR + _RING_LABELS + _STEREO + _CHARGED))


def vocabulary_path(name: str = DEFAULT_VOCABULARY) -> Path:
    """Where the frozen vocabulary ``name`` lives."""
    return VOCABULARY_DIR / f"{name}.json"


def build_default_vocabulary() -> SmilesTokenizer:
    """Rebuild ``smiles_v1`` from the embedded MOSES sample (every token, ``min_frequency=1``) and ``BASE_TOKENS``."""
    from molssl.data.embedded import embedded_file
    from molssl.files import file_sha256

    path = embedded_file("moses/moses_50k.smi.gz")
    with gzip.open(path, "rt") as handle:
        smiles = [line.split()[0] for line in handle.read().splitlines()[1:] if line.strip()]
    corpus = SmilesTokenizer.build(smiles, min_frequency=1)
    extra = [t for t in BASE_TOKENS if t not in corpus.stoi]
    record = {**corpus.corpus, "file": "moses/moses_50k.smi.gz", "sha256": file_sha256(path),
              "base_tokens": len(BASE_TOKENS)}  # fmt: skip
    return SmilesTokenizer(list(corpus.corpus_tokens) + extra, unknown="unk", min_frequency=1, corpus=record)


def default_tokenizer(name: str = DEFAULT_VOCABULARY) -> SmilesTokenizer:
    """The frozen vocabulary ``name`` (default ``smiles_v1``).

    Raises:
        ValueError: no vocabulary of that name (the message lists the ones there are).
    """
    path = vocabulary_path(name)
    if not path.is_file():
        known = sorted(p.stem for p in VOCABULARY_DIR.glob("*.json"))
        raise ValueError(f"unknown SMILES vocabulary {name!r}; valid vocabularies: {', '.join(known)}")
    return SmilesTokenizer.load(path)


def tokenizer_of(vocabulary: Any = None) -> SmilesTokenizer:
    """The tokenizer a data option names: ``None`` (the default vocabulary), a ``to_dict()`` or a vocabulary JSON path."""
    if vocabulary is None:
        return default_tokenizer()
    if isinstance(vocabulary, Mapping):
        return SmilesTokenizer.from_dict(vocabulary)
    return SmilesTokenizer.load(vocabulary)


if __name__ == "__main__":
    build_default_vocabulary().save(vocabulary_path())
