"""molssl.registry.Registry: registration, lookup errors that list valid names, mapping behaviour."""

from __future__ import annotations

import pytest

from molssl.registry import Registry, UnknownNameError


def test_decorator_and_call_register_in_order():
    convs = Registry("conv")

    @convs.register("gin")
    class Gin:
        pass

    assert convs.register("gcn", int) is int
    assert list(convs) == ["gin", "gcn"]
    assert convs["gin"] is Gin and len(convs) == 2
    assert dict(convs) == {"gin": Gin, "gcn": int}


def test_unknown_name_lists_valid_names_sorted_and_is_key_and_value_error():
    methods = Registry("pretraining method", {"graphcl": 1, "bgrl": 2})
    with pytest.raises(ValueError, match=r"^unknown pretraining method 'simclr'; valid pretraining methods: bgrl, graphcl$"):
        methods["simclr"]
    with pytest.raises(KeyError):
        methods["simclr"]
    assert isinstance(methods.unknown("x"), UnknownNameError)


def test_mapping_protocol_behaves_like_a_dict_for_missing_and_unhashable_names():
    schemes = Registry("featurization scheme", {"hu": "H"})
    assert schemes.get("ogb") is None and schemes.get("ogb", "ogb") == "ogb"
    assert "hu" in schemes and "ogb" not in schemes and ["hu"] not in schemes
    with pytest.raises(ValueError, match=r"unknown featurization scheme \['hu'\]"):
        schemes[["hu"]]  # type: ignore[index]


def test_plural_and_duplicate_registration():
    splitters = Registry("splitter", {"scaffold": 1}, plural="splitters (see molssl.data.splits)")
    with pytest.raises(ValueError, match=r"valid splitters \(see molssl.data.splits\): scaffold"):
        splitters["random"]
    splitters.register("scaffold", 1)  # the same object again is a no-op
    with pytest.raises(ValueError, match="'scaffold' is already registered"):
        splitters.register("scaffold", 2)
    with pytest.raises(ValueError, match="non-empty string"):
        splitters.register("", 3)
    with pytest.raises(ValueError, match="kind must be"):
        Registry("")


def test_override_holds_an_entry_for_one_block_and_restores_the_table():
    methods = Registry("pretraining method", {"graphcl": 1, "bgrl": 2}, plural="methods")
    with methods.override("toy", 3) as held, methods.override("graphcl", 4):
        assert held == 3 and methods["toy"] == 3 and methods["graphcl"] == 4
        with methods.override("toy", 5):  # nested overrides of one name unwind in order
            assert methods["toy"] == 5
        assert methods["toy"] == 3
    assert dict(methods) == {"graphcl": 1, "bgrl": 2}
    with pytest.raises(RuntimeError), methods.override("toy", 3):
        raise RuntimeError("the block failed")
    assert "toy" not in methods
    with pytest.raises(ValueError, match="unknown pretraining method 'toy'; valid methods: bgrl, graphcl"):
        methods["toy"]


def test_lazy_entries_are_listed_at_once_and_imported_on_first_lookup(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "json.tool", raising=False)  # a stdlib module nothing here imports
    tools = Registry("tool")
    tools.register_lazy("json", "json.tool:main")
    tools.register("len", len)
    assert list(tools) == ["json", "len"] and "json" in tools and len(tools) == 2
    assert not tools.is_loaded("json") and "json.tool" not in sys.modules
    import json.tool

    assert tools["json"] is json.tool.main and tools.is_loaded("json")
    tools.register("json", json.tool.main)  # the loaded object again is a no-op
    with pytest.raises(ValueError, match="'json' is already registered"):
        tools.register("json", len)
    with pytest.raises(ValueError, match="already registered"):
        tools.register_lazy("len", "builtins:len")
    with pytest.raises(ValueError, match="package.module:attribute"):
        tools.register_lazy("dumps", "json.dumps")


def test_a_lazy_entry_whose_module_is_missing_fails_on_lookup_only():
    methods = Registry("pretraining method")
    methods.register_lazy("ghost", "molssl.no_such_module:Ghost")
    assert list(methods) == ["ghost"]
    with pytest.raises(ModuleNotFoundError, match="molssl.no_such_module"):
        methods["ghost"]
