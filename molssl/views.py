"""View recipes: how a modality turns one batch into the augmented views a joint-embedding method compares.

SimCLR, BYOL, Barlow Twins, VICReg and DINO are the same method on every modality; what differs is how
the views are made (random resized crops and color jitter for images, BYOL-A's mixup and random
resized crops for spectrograms, ...). A modality registers its recipes here under a name, and a method
takes the recipe name as an option (with its paper's default) and asks for the one of the batch's
modality::

    make_views = get_views(batch.modality, "simclr")
    views = make_views(batch, generator)          # list of tensors, ready for the encoder

A recipe is ``fn(batch, generator, **options) -> list[Tensor]``: the augmented, normalized views in a
fixed order (two for SimCLR, BYOL, Barlow Twins and VICReg; the global crops first, then the local
ones, for DINO's multi-crop), every random choice drawn from ``generator``, batched on the batch's
device. Row ``i`` of every view is item ``i`` of the batch.

Modalities register their recipes when their views module is imported; ``get_views`` imports the
module a known modality keeps them in (``MODALITY_VIEW_MODULES``) on first use, so a method never
imports a front-end itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from torch import Tensor

from molssl.registry import Registry

#: ``fn(batch, generator, **options) -> list[Tensor]``, the views of every item of ``batch``
ViewRecipe = Callable[..., list[Tensor]]

#: the module that registers each modality's recipes when imported (imported by ``get_views`` on demand)
MODALITY_VIEW_MODULES: dict[str, str] = {
    "image": "molssl.vision.views",
    "audio": "molssl.audio.views",
    "text": "molssl.text.views",
}

_RECIPES: dict[str, Registry[ViewRecipe]] = {}
_LOADED: set[str] = set()


def register_views(modality: str, recipe: str, fn: ViewRecipe) -> ViewRecipe:
    """Register ``fn`` as the view recipe ``recipe`` of ``modality``; returns ``fn``.

    Args:
        modality: the batches' modality (``batch.modality``: ``"image"``, ``"audio"``, ...).
        recipe: the recipe's name, as methods take it in their ``views`` option (``"simclr"``, ``"byol"``,
            ``"multicrop"``, ``"byola"``...).
        fn: ``fn(batch, generator, **options) -> list[Tensor]``.

    Raises:
        ValueError: an empty name, or a name already taken by another function.
        TypeError: ``fn`` is not callable.
    """
    if not isinstance(modality, str) or not modality:
        raise ValueError(f"modality must be a non-empty string, got {modality!r}")
    if not callable(fn):
        raise TypeError(f"the view recipe {modality}/{recipe} must be callable, got {type(fn).__name__}")
    if modality not in _RECIPES:
        _RECIPES[modality] = Registry(f"{modality} view recipe")
    return _RECIPES[modality].register(recipe, fn)


def _load_modality(modality: str) -> None:
    module = MODALITY_VIEW_MODULES.get(modality)
    if module is None or modality in _LOADED:
        return
    _LOADED.add(modality)
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):  # a missing dependency inside it: not ours to hide
            raise


def view_recipes(modality: str) -> list[str]:
    """The names of the recipes registered for ``modality`` (sorted; empty for an unknown modality)."""
    _load_modality(modality)
    return sorted(_RECIPES.get(modality, {}))


def get_views(modality: str, recipe: str) -> ViewRecipe:
    """The view recipe ``recipe`` of ``modality``.

    Raises:
        ValueError: no such recipe (``molssl.registry.UnknownNameError``); the message lists the
            modality's recipes, or the modalities that have any.
    """
    _load_modality(modality)
    recipes = _RECIPES.get(modality)
    if not recipes:
        known = sorted(m for m, r in _RECIPES.items() if r)
        raise ValueError(
            f"no view recipes are registered for modality {modality!r}; modalities with recipes: "
            f"{', '.join(known) or '(none)'}"
        )
    return recipes[recipe]  # an unknown name raises UnknownNameError (a ValueError) listing the valid ones


def make_views(batch: Any, generator: Any, recipe: str, options: dict[str, Any] | None = None) -> list[Tensor]:
    """The views of ``batch`` made by recipe ``recipe`` of the batch's modality (``batch.modality``).

    Shapes:
        -> list of tensors whose first dimension is the batch size
    """
    modality = getattr(batch, "modality", None)
    if not isinstance(modality, str):
        raise TypeError(
            f"a {type(batch).__name__} has no 'modality'; view recipes take a modality's batch "
            "(e.g. molssl.vision.batch.ImageBatch)"
        )
    views = get_views(modality, recipe)(batch, generator, **(options or {}))
    if not isinstance(views, (list, tuple)) or not all(isinstance(v, Tensor) for v in views):
        raise TypeError(f"the {modality} view recipe {recipe!r} must return a list of tensors, got {type(views).__name__}")
    return list(views)


__all__ = ["MODALITY_VIEW_MODULES", "ViewRecipe", "get_views", "make_views", "register_views", "view_recipes"]
