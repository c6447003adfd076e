"""The encoder registry: every modality's encoder, built from plain data by its ``kind``.

An encoder kind is a frozen config dataclass (``to_dict()``/``from_dict()``, an ``out_dim`` property;
``from_dict`` refuses unknown keys) and an ``nn.Module`` built as ``module_class(config)``. A modality
registers its kinds with ``register_encoder(kind, config_class, module_class)`` when its encoder module is
imported; ``ENCODER_MODULES`` names that module for each known kind, so a checkpoint or run config
naming a kind builds it without the caller importing the front-end::

    config = config_from_dict({"kind": "gnn", "scheme": scheme, "num_layers": 3})
    encoder = build_encoder(config)                     # or build_encoder({"kind": "gnn", ...})
    config_to_dict(config)                              # {"kind": "gnn", "scheme": ..., ...}

Kinds: ``"gnn"`` (``molssl.nn.encoder.GNNEncoder``), and the other modalities' encoders as their
front-ends register them (``"resnet"``, ``"vit"``, ``"smiles_transformer"``, ``"byola_cnn"``, ...).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from molssl.registry import Registry

#: kind -> the module that registers it when imported (imported on first use)
ENCODER_MODULES: dict[str, str] = {
    "gnn": "molssl.nn.encoder",
    "resnet": "molssl.vision.resnet",
    "vit": "molssl.vision.vit",
    "smiles_transformer": "molssl.text.encoder",
    "byola_cnn": "molssl.audio.encoder",
    "multimodal": "molssl.multimodal.encoder",
}


@dataclass(frozen=True)
class EncoderKind:
    """One registered encoder: its config class and the module class built from a config."""

    kind: str
    config_class: type
    module_class: type[nn.Module]


ENCODERS: Registry[EncoderKind] = Registry("encoder kind")


def register_encoder(kind: str, config_class: type, module_class: type[nn.Module]) -> EncoderKind:
    """Register an encoder kind (idempotent for the same classes).

    Raises:
        ValueError: ``kind`` already names other classes, or ``config_class`` is registered under another kind.
    """
    for name, held in ENCODERS.items():
        if held.config_class is config_class and name != kind:
            raise ValueError(f"{config_class.__name__} is already registered as encoder kind {name!r}")
    entry = ENCODERS.get(kind)
    if entry is not None and (entry.config_class, entry.module_class) == (config_class, module_class):
        return entry
    return ENCODERS.register(kind, EncoderKind(kind, config_class, module_class))


def encoder_kind(kind: str) -> EncoderKind:
    """The registered encoder ``kind``, importing the module that registers it on first use.

    Raises:
        ValueError: an unknown kind (the registered ones listed).
    """
    if kind not in ENCODERS and isinstance(kind, str) and kind in ENCODER_MODULES:
        importlib.import_module(ENCODER_MODULES[kind])
    return ENCODERS[kind]


def kind_of(config: Any) -> str:
    """The kind ``config`` (an instance of a registered config class) is registered under.

    Raises:
        TypeError: ``config`` is not an instance of a registered encoder config class.
    """
    for name, entry in ENCODERS.items():
        if type(config) is entry.config_class:
            return name
    raise TypeError(f"{type(config).__name__} is not a registered encoder config; registered kinds: {', '.join(ENCODERS)}")


def config_from_dict(data: Mapping[str, Any], kind: str | None = None) -> Any:
    """The encoder config ``data`` describes: ``{"kind": ..., **options}`` (or the options with ``kind`` given).

    Raises:
        ValueError: no kind, an unknown kind, unknown options (the valid ones listed) or invalid values.
    """
    data = dict(data)
    named = data.pop("kind", None)
    if named is not None and kind is not None and named != kind:
        raise ValueError(f"the encoder config is of kind {named!r}, not {kind!r}")
    kind = named or kind
    if kind is None:
        raise ValueError(f"an encoder config needs its 'kind'; registered kinds: {', '.join(sorted({*ENCODERS, *ENCODER_MODULES}))}")
    return encoder_kind(kind).config_class.from_dict(data)


def config_to_dict(config: Any) -> dict[str, Any]:
    """``config`` as plain data with its kind first: ``{"kind": ..., **config.to_dict()}``."""
    return {"kind": kind_of(config), **config.to_dict()}


def build_encoder(config: Any) -> nn.Module:
    """The encoder module of ``config`` (a registered config object or its ``config_to_dict`` form)."""
    if isinstance(config, Mapping):
        config = config_from_dict(config)
    return ENCODERS[kind_of(config)].module_class(config)


__all__ = [
    "ENCODERS", "ENCODER_MODULES", "EncoderKind", "build_encoder", "config_from_dict", "config_to_dict", "encoder_kind",
    "kind_of", "register_encoder",
]  # fmt: skip
