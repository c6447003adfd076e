"""Real SMILES for the text tests: a slice of the embedded MOSES sample and BBBP (stereo, salts, charges)."""

from __future__ import annotations

import csv
import gzip
import functools

import pytest

from molssl.data.embedded import embedded_file


@functools.lru_cache(maxsize=None)
def moses_slice(n: int = 512) -> tuple[str, ...]:
    with gzip.open(embedded_file("moses/moses_50k.smi.gz"), "rt") as handle:
        lines = handle.read().splitlines()[1 : n + 1]
    return tuple(line.split()[0] for line in lines)


@functools.lru_cache(maxsize=None)
def bbbp_slice(n: int = 200) -> tuple[str, ...]:
    with open(embedded_file("moleculenet/bbbp.csv"), newline="") as handle:
        return tuple(row[0] for row in list(csv.reader(handle))[1 : n + 1])


@pytest.fixture
def text_smiles() -> list[str]:
    """MOSES molecules and BBBP ones with stereo centres and salts, mixed (all tokens in the default vocabulary)."""
    from molssl.text.default_vocabulary import default_tokenizer

    tokenizer = default_tokenizer()
    stereo = [s for s in bbbp_slice() if ("@" in s or "." in s) and not tokenizer.encode(s).unknown][:40]
    return list(moses_slice(120)) + stereo
