"""Pretraining: one loop for every modality (``pretrain``), its configuration, data sources, run directories and DDP.

A run is a ``RunConfig`` (method and options, encoder, data, ``TrainConfig``) and is written as its run
directory's config.json; the data is a ``DataSource`` of the method's modality (``molssl.pretrain.source``).

The package is callable as its ``pretrain`` function, so ``molssl.pretrain(...)`` works although
``molssl.pretrain`` is this package (Python binds a subpackage to its parent's attribute of that name).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from molssl.pretrain.config import DataConfig, RunConfig, TrainConfig
from molssl.pretrain.source import DataSource, open_source, register_source, to_device
from molssl.pretrain.trainer import PretrainResult, pretrain



class _CallablePackage(types.ModuleType):
    """This package's type: calling it calls ``pretrain``."""

    def __call__(self, *args: Any, **kwargs: Any) -> PretrainResult:
        return pretrain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["DataConfig", "DataSource", "PretrainResult", "RunConfig", "TrainConfig", "open_source", "pretrain", "register_source",
           "to_device"]  # fmt: skip
