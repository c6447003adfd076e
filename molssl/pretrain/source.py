"""What the pretraining loop trains on, for every modality: a ``DataSource``, opened by modality name.

The loop (``molssl.pretrain.trainer``) knows nothing about graphs, images, text or audio. A modality
supplies a data source, an encoder (``molssl.nn.encoders``) and methods (``molssl.methods``); the loop
owns everything else: the order of the items, each rank's shard, the resume position, seeding,
precision, checkpoints and logging. The interface, as the other front-ends implement it:

**DataSource** (subclass it; torch and numpy only here)::

    class MySource(DataSource):
        modality = "image"                # ClassVar: "graph", "image", "text", "audio"
        unit = "images"                   # ClassVar: what an item is called in the metric rows
                                          #   (``images_per_s``, ``images_seen``); default "items"
        def __len__(self) -> int          # number of items
        def batch(self, indices, generator) -> Any
            # collate items ``indices`` ([B] int64 CPU tensor) into one CPU batch; any per-item
            # randomness (e.g. randomized SMILES) drawn ONLY from ``generator`` (a CPU generator the
            # loop seeds per step and rank), so a resumed run collates exactly what an uninterrupted one did
        def describe(self) -> dict        # plain data: what was read (file, sha256, counts, skipped rows)
                                          # and how (see ``preprocessing``); saved in the run's config.json
                                          # under "source" and in the encoder checkpoint
        # optional:
        def preprocessing(self) -> dict   # the part of the data handling a user of the trained encoder
                                          # must reproduce (graphs: {"scheme": ...}; images: size, channels,
                                          # normalization; text: tokenizer and its vocabulary digest; audio:
                                          # sample rate, n_mels, ...); recorded in the encoder checkpoint,
                                          # and loading refuses a different one
                                          # (``molssl.nn.pretrained.load_encoder_state(expected_preprocessing=)``)
        def encoder_options(self) -> dict # encoder options the data decides (graphs: the scheme; images:
                                          # in_channels, image_size; text: vocab_size); they fill the
                                          # method's ``default_encoder`` and a user value that differs is an error
        def sizes(self) -> Tensor | None  # [N] item sizes (atoms, tokens, frames) for the loop's size
                                          # curriculum (``TrainConfig.size_curriculum``); None = no curriculum
        def order(self, epoch, seed) -> Tensor
                                          # [N] the epoch's global item order; default a permutation seeded
                                          # by (seed, epoch) (``epoch_permutation``)

**The loop's order** (``molssl.pretrain.batch_order.BatchOrder``): an epoch has ``len(source) //
batch_size`` global batches (the last incomplete one is dropped); global batch b is
``order[b*batch_size:(b+1)*batch_size]``, except the first ``size_curriculum`` steps, which draw from
the smallest items; rank r of W collates ``global_batch[r::W]``. A resumed run restarts at the saved
(epoch, batch) and recomputes the order, so nothing about the data order is saved.

**Batches** are moved to the device with ``to_device(batch, device)``: a Tensor, a mapping, a
tuple/list, anything with ``.to(device)`` (a PyG ``Batch``, ``molssl.vision.batch.ImageBatch``), or a
dataclass of those.

**Methods and encoders** (``molssl.methods.base.PretrainMethod``, ``molssl.nn.encoders``): a method sets
``modality`` (a name or a tuple, the default first; ``RunConfig.data.modality`` / ``--modality`` picks
another) and ``default_encoder = {"kind": ..., **options}``; the loop builds the encoder config from that
default, the user's ``encoder`` options and ``source.encoder_options()``, constructs
``method(encoder_config, method_config)``, calls ``method.set_total_steps(total)`` before training, and
``method(batch, generator) -> MethodOutput`` every step (``generator`` on the training device). An
encoder kind is ``register_encoder(kind, config_class, module_class)`` (module ``ENCODER_MODULES`` in
``molssl.nn.encoders`` imports it on demand); the module keeps its config as ``.config``. The final
encoder is saved with ``molssl.nn.pretrained.save_encoder(encoder, dir, source=source)`` (kind, config,
``describe()``, ``preprocessing()``); ``load_encoder(dir, expected_preprocessing=...)`` refuses other
preprocessing.

**Opening by name**: ``open_source(modality, data, options, labels=False)`` calls the opener the
modality registered with ``register_source(modality, opener)``; the module that a lazy entry of
``SOURCES`` names is imported on first use (so the graph opener lives in
``molssl.pretrain.data``, the image one in ``molssl.vision.data``). An opener is
``opener(data, options: dict, *, labels: bool, workers: int) -> DataSource``: ``data`` is ``None`` (the
modality's embedded default), a file or directory path, or an in-memory object the modality accepts;
``options`` the modality's data options (``--data-option KEY=VALUE``; unknown keys are an error);
``labels`` asks for per-item labels in the batches (supervised pretraining); ``workers`` is how many
processes may prepare the data (featurize, decode) when it is first read. The name of an embedded set
(``NAMED_DATA``: ``"mnist"``, ``"fsdd"``) stands for its modality: ``pretrain("byol", "fsdd")`` and
``molssl pretrain --method byol --data fsdd`` train on audio without ``--modality``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import Tensor

from molssl.registry import Registry


class DataSource(ABC):
    """The items a pretraining run trains on (see the module docstring for the contract)."""

    #: the modality of the batches: "graph", "image", "text", "audio"
    modality: ClassVar[str]
    #: what one item is called in the metric rows (``<unit>_per_s``, ``<unit>_seen``)
    unit: ClassVar[str] = "items"

    @abstractmethod
    def __len__(self) -> int:
        """Number of items."""

    @abstractmethod
    def batch(self, indices: Tensor, generator: torch.Generator) -> Any:
        """Collate the items ``indices`` into one CPU batch, drawing any randomness from ``generator``.

        Shapes:
            indices: [B] int64
        """

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What was read and how, as plain JSON data (recorded in config.json and the encoder checkpoint)."""

    def preprocessing(self) -> dict[str, Any]:
        """The data handling a user of the trained encoder must reproduce, as plain data ({} = nothing)."""
        return {}

    def encoder_options(self) -> dict[str, Any]:
        """Encoder options the data decides (e.g. the featurization scheme, the number of channels)."""
        return {}

    def sizes(self) -> Tensor | None:
        """[N] size of each item, for the size curriculum; ``None`` when items have no size."""
        return None

    def order(self, epoch: int, seed: int) -> Tensor:
        """[N] the global item order of ``epoch`` (default: ``epoch_permutation``)."""
        return epoch_permutation(len(self), epoch, seed)

    @property
    def origin(self) -> str:
        """Where the items came from, for messages."""
        described = self.describe()
        return str(described.get("path") or described.get("source") or f"the {self.modality} data")


def epoch_permutation(n: int, epoch: int, seed: int) -> Tensor:
    """The default epoch order: a permutation of ``range(n)`` seeded by (seed, epoch).

    Shapes:
        -> [n] int64
    """
    return torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64))


def to_device(batch: Any, device: torch.device | str) -> Any:
    """``batch`` with every tensor in it on ``device`` (tensors, mappings, tuples/lists, ``.to``, dataclasses)."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return type(batch)({key: to_device(value, device) for key, value in batch.items()})  # type: ignore[call-arg]
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a NamedTuple
        return type(batch)(*(to_device(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device) for value in batch)
    if callable(getattr(batch, "to", None)):
        return batch.to(device)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {f.name: to_device(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init}
        return dataclasses.replace(batch, **changes)
    return batch


#: ``opener(data, options, *, labels, workers) -> DataSource``
SourceOpener = Callable[..., DataSource]

#: every modality is listed at once; the module holding its opener is imported on its first lookup (the
#: module registers the same opener again with ``register_source``)
SOURCES: Registry[SourceOpener] = Registry("data modality", plural="data modalities")
for _modality, _target in (("graph", "molssl.pretrain.data:open_graph_source"), ("image", "molssl.vision.data:open_image_source"),
                           ("text", "molssl.text.data:open_smiles_source"), ("audio", "molssl.audio.data:open_audio_source"),
                           ("multimodal", "molssl.multimodal.source:open_multimodal_source")):  # fmt: skip
    SOURCES.register_lazy(_modality, _target)

#: names of embedded data sets -> their modality, whose opener reads the name as that set. A run whose data
#: is one of these names and that sets no modality trains on this one (a file so named: give it as ``./name``)
NAMED_DATA: dict[str, str] = {"mnist": "image", "fsdd": "audio"}


def named_data_modality(data: Any) -> str | None:
    """The modality of ``data`` when it is the name of an embedded data set (``NAMED_DATA``), else ``None``."""
    return NAMED_DATA.get(data) if isinstance(data, str) else None


def register_source(modality: str, opener: SourceOpener) -> SourceOpener:
    """Register ``opener`` as the way to open data of ``modality``; returns ``opener``."""
    return SOURCES.register(modality, opener)


def source_opener(modality: str) -> SourceOpener:
    """The opener of ``modality``, importing the module that holds it on first use.

    Raises:
        ValueError: an unknown modality (every known one listed).
    """
    return SOURCES[modality]


def open_source(modality: str, data: Any = None, options: Mapping[str, Any] | None = None, *, labels: bool = False,
                workers: int = 1) -> DataSource:  # fmt: skip
    """Open ``data`` as a ``DataSource`` of ``modality`` (a ``DataSource`` passed in is returned as is).

    Raises:
        ValueError: an unknown modality, or a source of another modality than asked.
    """
    if isinstance(data, DataSource):
        source = data
    else:
        source = source_opener(modality)(data, dict(options or {}), labels=labels, workers=workers)
    if source.modality != modality:
        raise ValueError(f"{source.origin}: {source.modality} data, but the method trains on {modality} data")
    return source


__all__ = [
    "NAMED_DATA", "SOURCES", "DataSource", "SourceOpener", "epoch_permutation", "named_data_modality",
    "open_source", "register_source", "source_opener", "to_device",
]  # fmt: skip
