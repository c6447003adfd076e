"""SMILES as a pretraining data source: a SMILES file (or the embedded corpus) -> ``TokenBatch`` of token ids.

Each item is one molecule. With ``randomize`` every draw writes it from a new random atom ordering
(``molssl.text.randomize``); with ``views=2`` each molecule appears twice, written two ways, the
positive pair of randomized-SMILES contrastive learning. All randomness comes from the ``generator``
the loop passes to ``batch`` (seeded per step), so a resumed run draws the same strings.

Every SMILES is checked when the source is opened: RDKit must read it (when randomizing, and always
for a strict source), and its tokens are counted against the vocabulary; a bad row is an error naming
the file and row, never dropped. Unknown tokens and truncated sequences are counted in ``describe()``.
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from molssl.pretrain.source import DataSource, register_source
from molssl.text.batch import TokenBatch, pad_ids
from molssl.text.tokenizer import SmilesTokenizer

logger = logging.getLogger(__name__)


class SmilesSource(DataSource):
    """Molecules as SMILES strings, batched into padded token ids.

    Args:
        smiles: the molecules.
        tokenizer: the vocabulary (the encoder's: ``SmilesTransformerConfig.tokenizer()``).
        randomize: write each molecule from a random atom ordering at every draw (else as given).
        views: strings drawn per molecule per batch (2 for contrastive pairs; needs ``randomize``).
        max_length: most ids per sequence (``[CLS]`` and ``[SEP]`` included); longer ones are truncated.
        source: where the SMILES came from (file name), for messages and ``describe``.
        rows: the data row of each SMILES in ``source`` (default 0..N-1), for messages.
        check: parse every SMILES with RDKit now (always done when ``randomize``).
    """

    modality: ClassVar[str] = "text"
    unit: ClassVar[str] = "molecules"

    def __init__(self, smiles: Sequence[str], tokenizer: SmilesTokenizer, *, randomize: bool = False, views: int = 1,
                 max_length: int = 128, source: str = "<memory>", rows: Sequence[int] | None = None,
                 check: bool = True, digest: str | None = None) -> None:  # fmt: skip
        if views < 1 or (views > 1 and not randomize):
            raise ValueError(f"views must be 1, or >= 2 with randomize=True (identical views teach nothing), got {views}")
        if max_length < 3:
            raise ValueError(f"max_length must be >= 3, got {max_length}")
        self.smiles = list(smiles)
        if not self.smiles:
            raise ValueError(f"{source}: no SMILES to train on")
        self.tokenizer = tokenizer
        self.randomize = randomize
        self.views = views
        self.max_length = max_length
        self.source = source
        self.digest = digest
        self.rows = list(range(len(self.smiles))) if rows is None else [int(r) for r in rows]
        self.targets: np.ndarray | None = None
        self.target_description: dict[str, Any] = {}
        self.checked = False
        if check or randomize:
            self._check_molecules()
        encodings = [tokenizer.encode(text) for text in self.smiles]  # one pass: lengths and unknown counts
        lengths = [len(e.ids) for e in encodings]
        report = tokenizer.unknown_report([s for s, e in zip(self.smiles, encodings) if e.unknown], limit=5)
        report["tokens"] = sum(lengths) - 2 * len(lengths)
        self._lengths = torch.as_tensor(lengths, dtype=torch.long)
        self.stats = {"molecules": len(self.smiles), "tokens": report["tokens"], "unknown_tokens": report["unknown"],
                      "most_common_unknown": report["most_common"],
                      "truncated": sum(n > max_length for n in lengths), "max_tokens": max(lengths)}  # fmt: skip
        if report["unknown"]:
            logger.warning("%s: %d of %d tokens are not in the vocabulary and become [UNK] (most common: %s)", source,
                           report["unknown"], report["tokens"], report["most_common"])  # fmt: skip
        if self.stats["truncated"]:
            logger.warning("%s: %d SMILES have more than max_length=%d tokens and are truncated (longest: %d)", source,
                           self.stats["truncated"], max_length, self.stats["max_tokens"])  # fmt: skip

    def _check_molecules(self) -> None:
        from molssl.text.randomize import parse_molecule

        for smiles, row in zip(self.smiles, self.rows):
            parse_molecule(smiles, f"{self.source}, row {row}")
        self.checked = True

    def with_views(self, views: int) -> "SmilesSource":
        """This source drawing ``views`` randomized SMILES per molecule (a copy; the molecules are checked once)."""
        if views < 2:
            raise ValueError(f"with_views makes randomized views, so views must be >= 2, got {views}")
        if not self.checked:
            self._check_molecules()
        out = copy.copy(self)
        out.randomize, out.views = True, views
        return out

    def with_targets(self, targets: np.ndarray, description: Mapping[str, Any]) -> "SmilesSource":
        """This source with per-molecule regression targets, attached to each batch as ``y`` (a copy).

        Args:
            targets: [N, K] float, NaN = masked (e.g. standardized descriptors, ``molssl.methods.smiles_descriptors``).
            description: what the targets are, merged into ``describe()``.
        """
        if targets.ndim != 2 or targets.shape[0] != len(self.smiles):
            raise ValueError(f"targets must be [{len(self.smiles)}, K], one row per molecule, got shape {targets.shape}")
        out = copy.copy(self)
        out.targets, out.target_description = targets, dict(description)
        return out

    def __len__(self) -> int:
        return len(self.smiles)

    def strings(self, indices: Sequence[int], generator: torch.Generator | None) -> list[str]:
        """The SMILES drawn for ``indices``: all of view 0, then all of view 1, ... (randomized when asked)."""
        if not self.randomize:
            return [self.smiles[i] for i in indices]
        from molssl.text.randomize import parse_molecule, randomized_smiles

        if generator is None:
            raise ValueError("a randomizing source needs the loop's generator")
        mols = [parse_molecule(self.smiles[i]) for i in indices]
        return [randomized_smiles(mol, generator) for _ in range(self.views) for mol in mols]

    def batch(self, indices: Tensor, generator: torch.Generator) -> TokenBatch:
        """Token ids of molecules ``indices`` ([B] int64), every random choice drawn from ``generator``.

        Shapes:
            indices: [B] -> TokenBatch.ids [views * B, L]
        """
        index = indices.tolist()
        ids = [self.tokenizer.encode(s, max_length=self.max_length).ids for s in self.strings(index, generator)]
        y = None if self.targets is None else torch.from_numpy(np.ascontiguousarray(self.targets[index]))  # [B, K]
        return TokenBatch(pad_ids(ids), self.views, y=y, index=torch.as_tensor(index, dtype=torch.long))

    def describe(self) -> dict[str, Any]:
        """What was read and how: file, digest, tokenizer, randomization and the corpus counts."""
        return {"modality": self.modality, "path": self.source, "sha256": self.digest, **self.preprocessing(),
                "randomize": self.randomize, "views": self.views, **self.stats, **self.target_description}  # fmt: skip

    def preprocessing(self) -> dict[str, Any]:
        """The tokenizer (name, grammar, size, vocabulary digest) and the sequence length a user must reproduce."""
        return {**self.tokenizer.describe(), "max_length": self.max_length}

    def encoder_options(self) -> dict[str, Any]:
        """The vocabulary the encoder's embedding rows must follow."""
        return {"vocabulary": self.tokenizer.to_dict()}

    def sizes(self) -> Tensor:
        """[N] token count of each SMILES as given (``[CLS]`` and ``[SEP]`` included), for the size curriculum."""
        return self._lengths


def open_smiles_source(data: str | os.PathLike | Sequence[str] | None, options: dict[str, Any] | None = None, *,
                       labels: bool = False, workers: int = 1) -> SmilesSource:
    """Open a SMILES file (.smi/.csv/.tsv, optionally .gz) or, for ``None``, the embedded MOSES sample.

    ``data`` may also be a list of SMILES strings. Options: ``vocabulary`` (a vocabulary JSON path or a
    ``to_dict()``; default ``smiles_v1``), ``smiles_column`` (CSV/TSV) and the keyword arguments of
    ``SmilesSource`` (``randomize``, ``views``, ``max_length``, ``check``). The molecules are checked in
    this process (``workers`` is accepted for the common opener signature).

    Raises:
        ValueError: ``labels=True`` (no supervised text pretraining), an unknown option, a bad row.
    """
    if labels:
        raise ValueError("the text source has no labels; supervised pretraining is for graphs")
    unknown = sorted(set(options or {}) - {"vocabulary", "smiles_column", "randomize", "views", "max_length", "check"})
    if unknown:
        raise ValueError(f"unknown text data options {unknown}; valid options: vocabulary, smiles_column, randomize, "
                         "views, max_length, check")  # fmt: skip
    from molssl.data.corpus import read_smiles_file
    from molssl.data.embedded import default_corpus
    from molssl.files import file_sha256
    from molssl.text.default_vocabulary import tokenizer_of

    options = dict(options or {})
    tokenizer = tokenizer_of(options.pop("vocabulary", None))
    if isinstance(data, (list, tuple)):
        if options.pop("smiles_column", None) is not None:
            raise ValueError("smiles_column applies to a file, not to a list of SMILES")
        return SmilesSource(list(data), tokenizer, **options)
    path = default_corpus() if data is None else data
    corpus = read_smiles_file(path, options.pop("smiles_column", None))
    return SmilesSource(corpus.smiles, tokenizer, source=corpus.source, rows=corpus.rows.tolist(),
                        digest=file_sha256(path), **options)  # fmt: skip


register_source("text", open_smiles_source)
