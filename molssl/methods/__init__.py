"""Pretraining methods, one per file, each a ``PretrainMethod`` on the shared loop of ``molssl.pretrain``.

``METHODS`` maps the names used by ``molssl pretrain --method`` to the classes. A method's module is
imported on the first lookup of its name, not when this package is: an image or text run imports
neither PyG nor RDKit, which only the graph methods need. The classes and their configs are
attributes of this package, imported the same way on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from molssl.registry import Registry

if TYPE_CHECKING:
    from molssl.methods.base import PretrainMethod

#: method name -> (module under molssl.methods, class, its config class or None, the class's ``modality``), in
#: the order listed by ``molssl pretrain --help``: graphs, then text, then images and audio, then multimodal
_METHOD_MODULES: dict[str, tuple[str, str, str | None, str | tuple[str, ...]]] = {
    "attr_masking": ("attribute_masking", "AttributeMasking", "AttributeMaskingConfig", "graph"),
    "bgrl": ("bgrl", "BGRL", "BGRLConfig", "graph"),
    "context_pred": ("context_prediction", "ContextPrediction", "ContextPredictionConfig", "graph"),
    "descriptors": ("descriptors", "DescriptorPrediction", "DescriptorConfig", "graph"),
    "edge_pred": ("edge_prediction", "EdgePrediction", "EdgePredictionConfig", "graph"),
    "infomax": ("graph_infomax", "GraphInfomax", None, "graph"),
    "graphcl": ("graphcl", "GraphCL", "GraphCLConfig", "graph"),
    "graphmae": ("graphmae", "GraphMAE", "GraphMAEConfig", "graph"),
    "infograph": ("infograph", "InfoGraph", "InfoGraphConfig", "graph"),
    "supervised": ("supervised", "SupervisedPretraining", "SupervisedConfig", "graph"),
    "mlm": ("mlm", "MaskedLanguageModelling", "MLMConfig", "text"),
    "smiles_contrastive": ("smiles_contrastive", "SmilesContrastive", "SmilesContrastiveConfig", "text"),
    "smiles_descriptors": ("smiles_descriptors", "SmilesDescriptorPrediction", "SmilesDescriptorConfig", "text"),
    "simclr": ("simclr", "SimCLR", "SimCLRConfig", ("image", "audio")),
    "byol": ("byol", "BYOL", "BYOLConfig", ("image", "audio")),
    "mae": ("mae", "MAE", "MAEConfig", ("image", "audio")),
    "dino": ("dino", "DINO", "DINOConfig", ("image", "audio")),
    "barlow_twins": ("barlow_twins", "BarlowTwins", "BarlowTwinsConfig", ("image", "audio")),
    "vicreg": ("vicreg", "VICReg", "VICRegConfig", ("image", "audio")),
    "clip_align": ("clip_align", "CrossModalAlignment", "CrossModalAlignmentConfig", "multimodal"),
}

#: names used by ``molssl pretrain --method`` -> method classes (each imported on its first lookup)
METHODS: Registry[type[PretrainMethod]] = Registry("pretraining method", plural="methods")
for _name, (_module, _class, _config, _) in _METHOD_MODULES.items():
    METHODS.register_lazy(_name, f"molssl.methods.{_module}:{_class}")

#: attribute of this package -> the module defining it (the method classes, their configs, the base)
_EXPORTS: dict[str, str] = {
    **{cls: module for module, cls, _, _ in _METHOD_MODULES.values()},
    **{config: module for module, _, config, _ in _METHOD_MODULES.values() if config},
    "MethodConfig": "base", "MethodOutput": "base", "PretrainMethod": "base",
}  # fmt: skip


def get_method(name: str) -> type[PretrainMethod]:
    """The method class registered under ``name`` (importing its module on first use).

    Raises:
        ValueError: an unknown name (a ``molssl.registry.UnknownNameError``); the message lists the valid ones.
    """
    return METHODS[name]


def methods_for(modality: str) -> list[str]:
    """Names of the methods that train on ``modality`` data (``"graph"``, ``"image"``, ...), none imported."""
    return [name for name, (*_, trains_on) in _METHOD_MODULES.items()
            if modality in ((trains_on,) if isinstance(trains_on, str) else trains_on)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'molssl.methods' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"molssl.methods.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["METHODS", "get_method", "methods_for", *_EXPORTS]
