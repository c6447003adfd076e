"""One molecule set as several modalities at once: graph, SMILES tokens and depiction of every molecule, paired.

``MultimodalSource`` is the pretraining loop's ``DataSource`` for methods that align modalities
(``molssl.methods.clip_align``). It reads a SMILES file (or the embedded MOSES sample) once and builds,
for the modalities asked for, the ordinary source of each front-end over the *same* molecules in the
same order: a ``GraphSource`` (featurized into a molecule store, cached on disk by content and scheme),
a ``SmilesSource`` (token ids, the canonical SMILES or a random atom ordering drawn at every batch) and
an ``ImageSource`` (RDKit depictions of the canonical SMILES, cached on disk by digest). Item i of every
part is molecule i, so ``batch(indices)`` collates each part with the same indices and the pairing
survives the loop's order and rank sharding (which only choose indices).

A molecule one of the asked modalities cannot represent (the featurizer rejects it, RDKit cannot
read it) leaves the paired set, since a pair needs every modality; it is never dropped silently: each
modality's rejects are counted and listed with their file row, SMILES and reason in ``describe()``
(``unrepresentable``) and logged. The opener reads the molecules; the modalities are chosen by the
method (``MultimodalSource.with_modalities``, called from its ``prepare_data``), so only those are
featurized.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from molssl.multimodal.modalities import MODALITIES, check_modalities
from molssl.pretrain.source import DataSource, register_source
from molssl.ssl.checks import check_known_keys, check_positive_int

logger = logging.getLogger(__name__)

SMILES_FORMS = ("canonical", "given", "randomized")


@dataclass
class MultimodalBatch:
    """B molecules in every modality of a ``MultimodalSource``: row i of each part is the same molecule.

    Attributes:
        index: [B] int64 positions of the molecules in the source.
        graph: a PyG batch of B graphs, or None.
        smiles: a ``molssl.text.batch.TokenBatch`` of B molecules, or None.
        image: a ``molssl.vision.batch.ImageBatch`` of B depictions, or None.
    """

    index: Tensor
    graph: Any = None
    smiles: Any = None
    image: Any = None
    modality: ClassVar[str] = "multimodal"

    @property
    def num_graphs(self) -> int:
        """B, the number of molecules (the name the loops read off every batch)."""
        return self.index.numel()

    def part(self, modality: str) -> Any:
        """The batch of ``modality``.

        Raises:
            ValueError: the batch does not hold that modality.
        """
        value = getattr(self, modality, None) if modality in MODALITIES else None
        if value is None:
            held = [m for m in MODALITIES if getattr(self, m) is not None]
            raise ValueError(f"this batch holds {', '.join(held)}, not {modality!r}")
        return value

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "MultimodalBatch":
        move = lambda part: None if part is None else part.to(device, non_blocking=non_blocking)  # noqa: E731
        return MultimodalBatch(self.index.to(device, non_blocking=non_blocking), move(self.graph), move(self.smiles),
                               move(self.image))  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class MultimodalDataOptions:
    """The multimodal opener's options (``molssl pretrain --data-option KEY=VALUE``).

    Attributes:
        scheme: graph featurization scheme.
        smiles_column: SMILES column of a CSV/TSV.
        smiles_form: the SMILES the text encoder reads: ``"canonical"`` (RDKit's), ``"given"`` (as in the
            file) or ``"randomized"`` (a new random atom ordering at every batch).
        vocabulary: a vocabulary JSON path or ``to_dict()`` (default ``smiles_v1``).
        max_length: most token ids per SMILES (longer ones are truncated and counted).
        depict_size, depict_color: side in pixels and RGB (else grayscale) of the depictions.
        cache: directory of rendered depictions (default ``~/.cache/molssl/depictions``).
    """

    scheme: str = "hu"
    smiles_column: str | None = None
    smiles_form: str = "canonical"
    vocabulary: Any = None
    max_length: int = 128
    depict_size: int = 64
    depict_color: bool = False
    cache: str | None = None

    def __post_init__(self) -> None:
        if self.smiles_form not in SMILES_FORMS:
            raise ValueError(f"unknown smiles_form {self.smiles_form!r}; valid forms: {', '.join(SMILES_FORMS)}")
        check_positive_int("max_length", self.max_length)
        check_positive_int("depict_size", self.depict_size)


class MultimodalSource(DataSource):
    """Molecules paired across modalities (see the module docstring).

    Args:
        corpus: the molecules read (``molssl.data.corpus.SmilesCorpus``), before any is left out.
        options: how each modality is prepared.
        digest: sha256 of the file read.
        modalities: the modalities built (none until ``with_modalities``).
        parts: the source of each modality, item i of each the i-th kept molecule.
        kept: [M] positions in ``corpus`` of the paired molecules.
        unrepresentable: per modality, the rows it could not represent (``{"row", "smiles", "reason"}``).
        store: the graph molecule store, when graphs were built.
    """

    modality: ClassVar[str] = "multimodal"
    unit: ClassVar[str] = "molecules"

    def __init__(self, corpus: Any, options: MultimodalDataOptions, *, digest: str | None = None,
                 modalities: tuple[str, ...] = (), parts: Mapping[str, DataSource] | None = None,
                 kept: np.ndarray | None = None, unrepresentable: Mapping[str, list[dict]] | None = None,
                 store: Any = None) -> None:  # fmt: skip
        if not len(corpus):
            raise ValueError(f"{corpus.source}: no molecules")
        self.corpus, self.options, self.digest = corpus, options, digest
        self.modalities = modalities
        self.parts = dict(parts or {})
        self.kept = np.arange(len(corpus), dtype=np.int64) if kept is None else np.asarray(kept, dtype=np.int64)
        self.unrepresentable = {m: list(rows) for m, rows in (unrepresentable or {}).items()}
        self.store = store

    def __len__(self) -> int:
        return len(self.kept)

    @property
    def origin(self) -> str:
        return str(self.corpus.source)

    def smiles(self, i: int) -> str:
        """The SMILES of paired molecule ``i`` as read from the file."""
        return self.corpus.smiles[int(self.kept[i])]

    def row(self, i: int) -> int:
        """The file row of paired molecule ``i``."""
        return int(self.corpus.rows[int(self.kept[i])])

    def with_modalities(self, modalities: str | Sequence[str], workers: int = 1) -> "MultimodalSource":
        """This molecule set built in ``modalities`` (featurized, tokenized, depicted; cached on disk).

        Raises:
            ValueError: an unknown modality, or no molecule every asked modality represents.
        """
        names = check_modalities(modalities)
        if self.parts and set(names) <= set(self.parts):
            parts = {m: self.parts[m] for m in names}
            return MultimodalSource(self.corpus, self.options, digest=self.digest, modalities=names, parts=parts,
                                    kept=self.kept, unrepresentable=self.unrepresentable, store=self.store)  # fmt: skip
        return _build(self.corpus, self.options, self.digest, names, workers)

    def part(self, modality: str) -> DataSource:
        """The ordinary source of ``modality`` over the paired molecules (what its encoder checkpoint records)."""
        if modality not in self.parts:
            raise ValueError(f"{self.origin}: built in {', '.join(self.modalities) or 'no modality'}, not {modality!r}; "
                             "call with_modalities first")  # fmt: skip
        return self.parts[modality]

    def batch(self, indices: Tensor, generator: torch.Generator) -> MultimodalBatch:
        """Molecules ``indices`` in every built modality (randomized SMILES drawn from ``generator``).

        Shapes:
            indices: [B] int64 -> every part of B molecules
        """
        if not self.parts:
            raise ValueError(f"{self.origin}: no modality built yet; call with_modalities(...) (the method's prepare_data does)")
        parts = {m: source.batch(indices, generator) for m, source in self.parts.items()}
        return MultimodalBatch(indices, **parts)

    def describe(self) -> dict[str, Any]:
        """What was read, how every modality was prepared, and every molecule a modality could not represent."""
        return {"modality": self.modality, "path": str(self.corpus.source), "sha256": self.digest, "read": len(self.corpus),
                "molecules": len(self), "modalities": list(self.modalities),
                "parts": {m: source.describe() for m, source in self.parts.items()},
                "unrepresentable": {m: {"count": len(rows), "rows": rows} for m, rows in self.unrepresentable.items()}}  # fmt: skip

    def preprocessing(self) -> dict[str, Any]:
        """Each modality's preprocessing (the scheme, the tokenizer, the image size and normalization)."""
        return {m: source.preprocessing() for m, source in self.parts.items()}

    def encoder_options(self) -> dict[str, Any]:
        """What the data decides of each modality's encoder, as ``"<modality>.<option>"`` keys."""
        return {f"{m}.{key}": value for m, source in self.parts.items() for key, value in source.encoder_options().items()}

    def sizes(self) -> Tensor:
        """[M] atoms per molecule with graphs, else tokens per SMILES."""
        first = self.parts.get("graph") or self.parts.get("smiles")
        if first is not None:
            return first.sizes()
        return torch.as_tensor([len(self.smiles(i)) for i in range(len(self))], dtype=torch.long)


def _canonical_or_reject(corpus: Any, positions: np.ndarray) -> tuple[list[str], list[dict]]:
    """The canonical SMILES of the molecules at ``positions`` (None where RDKit cannot read one) and the rejects."""
    from molssl.text.randomize import canonical_smiles

    canonical, rejects = [], []
    for position in positions:
        smiles, row = corpus.smiles[position], int(corpus.rows[position])
        try:
            canonical.append(canonical_smiles(smiles))
        except ValueError as exc:
            canonical.append(None)
            rejects.append({"row": row, "smiles": smiles, "reason": str(exc)})
    return canonical, rejects


def _build(corpus: Any, options: MultimodalDataOptions, digest: str | None, modalities: tuple[str, ...],
           workers: int) -> MultimodalSource:  # fmt: skip
    """Prepare ``modalities`` of ``corpus`` over the molecules all of them represent."""
    unrepresentable: dict[str, list[dict]] = {}
    keep = np.ones(len(corpus), dtype=bool)
    store, store_index = None, None
    if "graph" in modalities:
        store, store_index, rejects = _graph_store(corpus, options, workers)
        keep &= store_index >= 0
        unrepresentable["graph"] = rejects
    canonical, rejects = _canonical_or_reject(corpus, np.flatnonzero(keep))
    parsed = np.array([c is not None for c in canonical], dtype=bool)
    for m in modalities:
        if m != "graph":  # the featurizer parses with RDKit already: its rejects are the graph's
            unrepresentable[m] = rejects
    kept = np.flatnonzero(keep)[parsed]
    canonical = [c for c in canonical if c is not None]
    if not len(kept):
        raise ValueError(f"{corpus.source}: no molecule is representable in {', '.join(modalities)} "
                         f"(unrepresentable: { {m: len(r) for m, r in unrepresentable.items()} })")  # fmt: skip
    for m, rows in unrepresentable.items():
        if rows:
            logger.warning("%s: %d molecule(s) cannot be represented as %s and leave the paired set (listed in the run's "
                           "config.json, source.unrepresentable); first: row %d %r: %s", corpus.source, len(rows), m,
                           rows[0]["row"], rows[0]["smiles"], rows[0]["reason"])  # fmt: skip
    rows = corpus.rows[kept].tolist()
    parts: dict[str, DataSource] = {}
    if "graph" in modalities:
        parts["graph"] = _graph_part(store, store_index[kept], options)
    if "smiles" in modalities:
        parts["smiles"] = _smiles_part(corpus, kept, canonical, rows, options, digest)
    if "image" in modalities:
        parts["image"] = _image_part(corpus, canonical, rows, options, digest)
    return MultimodalSource(corpus, options, digest=digest, modalities=modalities, parts=parts, kept=kept,
                            unrepresentable=unrepresentable, store=store)  # fmt: skip


def _graph_store(corpus: Any, options: MultimodalDataOptions, workers: int) -> tuple[Any, np.ndarray, list[dict]]:
    """The molecule store of the corpus file, each corpus position's index in it (-1: not featurized), the rejects."""
    from molssl.data.store_build import build_store

    store = build_store(corpus.source, scheme=options.scheme, smiles_column=options.smiles_column, workers=workers)
    by_row = {int(r): i for i, r in enumerate(np.asarray(store.rows))}
    index = np.array([by_row.get(int(r), -1) for r in corpus.rows], dtype=np.int64)
    rejects = [{"row": int(s.index), "smiles": s.smiles, "reason": s.reason} for s in store.skipped()]
    return store, index, rejects


def _graph_part(store: Any, index: np.ndarray, options: MultimodalDataOptions) -> DataSource:
    from molssl.pretrain.graph_source import GraphSource

    description = {"kind": "store", "store": str(store.path), "source": store.meta.get("source"), "molecules": len(index)}
    return GraphSource(store.graphs.select(index), store.spec, description)


def _smiles_part(corpus: Any, kept: np.ndarray, canonical: list[str], rows: list[int], options: MultimodalDataOptions,
                 digest: str | None) -> DataSource:  # fmt: skip
    from molssl.text.data import SmilesSource
    from molssl.text.default_vocabulary import tokenizer_of

    tokenizer = tokenizer_of(options.vocabulary)
    texts = [corpus.smiles[p] for p in kept] if options.smiles_form == "given" else canonical
    return SmilesSource(texts, tokenizer, randomize=options.smiles_form == "randomized", max_length=options.max_length,
                        source=str(corpus.source), rows=rows, check=False, digest=digest)  # fmt: skip


def _image_part(corpus: Any, canonical: list[str], rows: list[int], options: MultimodalDataOptions,
                digest: str | None) -> DataSource:  # fmt: skip
    from molssl.vision.data import ImageSource
    from molssl.vision.depict import DEPICTION_VERSION, depict

    images = depict(canonical, options.depict_size, options.depict_color, cache=options.cache, source=str(corpus.source),
                    rows=rows)  # fmt: skip
    extra = {"depiction": {"renderer": "rdkit MolDraw2DCairo", "version": DEPICTION_VERSION, "of": "canonical SMILES",
                           "molecules": len(images)}}  # fmt: skip
    return ImageSource(images, path=str(corpus.source), digest=digest, extra=extra)


def open_multimodal_source(data: Any = None, options: dict[str, Any] | None = None, *, labels: bool = False,
                           workers: int = 1) -> MultimodalSource:  # fmt: skip
    """Read a SMILES file (.smi/.csv/.tsv, optionally .gz; ``None`` or ``"embedded"``: the MOSES sample).

    The molecules are read, not yet prepared: the method's ``prepare_data`` builds the modalities it
    aligns (``MultimodalSource.with_modalities``). A ``MultimodalSource`` passed in is returned as is.

    Raises:
        ValueError: ``labels=True`` (no supervised multimodal pretraining), an unknown option.
        FileNotFoundError: no such file.
    """
    if labels:
        raise ValueError("the multimodal source has no labels")
    if isinstance(data, MultimodalSource):
        return data
    options = dict(options or {})
    check_known_keys(MultimodalDataOptions, options)
    opts = MultimodalDataOptions(**options)
    from molssl.data.corpus import read_smiles_file
    from molssl.data.embedded import default_corpus
    from molssl.files import file_sha256

    path = default_corpus() if data is None or str(data) == "embedded" else Path(os.fspath(data))
    if not Path(path).is_file():
        raise FileNotFoundError(f"multimodal data {str(data)!r}: no such SMILES file")
    return MultimodalSource(read_smiles_file(path, opts.smiles_column), opts, digest=file_sha256(path))


register_source("multimodal", open_multimodal_source)

__all__ = ["MODALITIES", "MultimodalBatch", "MultimodalDataOptions", "MultimodalSource", "check_modalities",
           "open_multimodal_source"]  # fmt: skip
