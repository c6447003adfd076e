"""The view-recipe registry: registration, lookup, errors that list the recipes, loading a modality's module."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from molssl import views
from molssl.registry import Registry
from molssl.views import get_views, make_views, register_views, view_recipes


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    """Each test sees a registry of its own (the modalities' real recipes are restored afterwards)."""
    copies = {m: Registry(r.kind, dict(r)) for m, r in views._RECIPES.items()}
    monkeypatch.setattr(views, "_RECIPES", copies)
    monkeypatch.setattr(views, "_LOADED", set(views._LOADED))


@dataclasses.dataclass
class FakeBatch:
    x: torch.Tensor
    modality: str = "toy"


def flip_and_noise(batch, generator, scale: float = 1.0):
    noise = torch.randn(batch.x.shape, generator=generator) * scale
    return [batch.x.flip(-1), batch.x + noise]


def test_register_and_get():
    assert register_views("toy", "pair", flip_and_noise) is flip_and_noise
    assert get_views("toy", "pair") is flip_and_noise
    assert view_recipes("toy") == ["pair"]
    register_views("toy", "pair", flip_and_noise)  # the same function again is not a conflict


def test_unknown_recipe_lists_the_registered_ones():
    register_views("toy", "pair", flip_and_noise)
    register_views("toy", "alpha", flip_and_noise)
    with pytest.raises(ValueError, match=r"unknown toy view recipe 'nope'; valid toy view recipes: alpha, pair"):
        get_views("toy", "nope")


def test_unknown_modality_lists_modalities_with_recipes():
    register_views("toy", "pair", flip_and_noise)
    with pytest.raises(ValueError, match=r"no view recipes are registered for modality 'smell'.*toy"):
        get_views("smell", "pair")
    assert view_recipes("smell") == []


def test_a_name_is_registered_once():
    register_views("toy", "pair", flip_and_noise)

    def other(batch, generator):
        return [batch.x, batch.x]

    with pytest.raises(ValueError, match="already registered"):
        register_views("toy", "pair", other)
    assert get_views("toy", "pair") is flip_and_noise


@pytest.mark.parametrize("modality, recipe", [("", "pair"), ("toy", ""), ("toy", None)])
def test_bad_names(modality, recipe):
    with pytest.raises(ValueError, match="must be a non-empty string"):
        register_views(modality, recipe, flip_and_noise)


def test_not_callable():
    with pytest.raises(TypeError, match="callable"):
        register_views("toy", "pair", 3)


def test_make_views_uses_the_batch_modality_options_and_generator():
    register_views("toy", "pair", flip_and_noise)
    batch = FakeBatch(torch.arange(6.0).view(2, 3))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = make_views(batch, g1, "pair", {"scale": 0.5})
    b = make_views(batch, g2, "pair", {"scale": 0.5})
    assert len(a) == 2 and torch.equal(a[0], batch.x.flip(-1))
    assert torch.equal(a[1], b[1])  # the same seed draws the same views
    expected = batch.x + torch.randn(2, 3, generator=torch.Generator().manual_seed(1)) * 0.5
    torch.testing.assert_close(a[1], expected)


def test_make_views_refuses_batches_without_modality_and_bad_returns():
    with pytest.raises(TypeError, match="no 'modality'"):
        make_views(torch.zeros(2, 3), torch.Generator(), "pair")
    register_views("toy", "bad", lambda batch, generator: batch.x)
    with pytest.raises(TypeError, match="must return a list of tensors"):
        make_views(FakeBatch(torch.zeros(2, 3)), torch.Generator(), "bad")


def test_a_known_modality_module_is_imported_on_first_use(monkeypatch, tmp_path):
    package = tmp_path / "toy_views_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "views.py").write_text(
        "from molssl.views import register_views\n"
        "register_views('toy2', 'identity', lambda batch, generator: [batch.x, batch.x])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(views.MODALITY_VIEW_MODULES, "toy2", "toy_views_pkg.views")
    assert view_recipes("toy2") == ["identity"]


def test_a_missing_modality_module_is_no_error_but_a_broken_one_is(monkeypatch, tmp_path):
    monkeypatch.setitem(views.MODALITY_VIEW_MODULES, "toy3", "no_such_package_here.views")
    assert view_recipes("toy3") == []
    package = tmp_path / "broken_views_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "views.py").write_text("import a_dependency_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(views.MODALITY_VIEW_MODULES, "toy4", "broken_views_pkg.views")
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_missing"):
        view_recipes("toy4")
