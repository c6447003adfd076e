"""FeaturizationSpec: typed, frozen, plain-data round trip, and compatible with files written before it existed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

import molssl
from molssl.chem.parse import ParseOptions
from molssl.chem.schemes import SCHEMES, FeaturizationSpec, get_scheme, get_spec
from molssl.data.store_build import store_key
from molssl.nn.encoder import EncoderConfig

#: the "scheme" dict that checkpoints and stores recorded before the spec existed (Scheme.describe())
LEGACY_HU = {
    "name": "hu", "version": 1, "atom_features": ["atom_type", "chirality"], "bond_features": ["bond_type", "bond_dir"],
    "atom_vocab": [120, 3], "bond_vocab": [6, 3], "atom_mask_token": [119, 0], "bond_mask_token": [5, 0],
    "self_loop_token": [4, 0],
}  # fmt: skip


def test_to_dict_is_the_legacy_scheme_dict_key_for_key():
    assert list(get_spec("hu").to_dict().items()) == list(LEGACY_HU.items())


def test_legacy_checkpoint_encoder_config_loads():
    legacy = {"scheme": LEGACY_HU, "conv": "gin", "num_layers": 5, "emb_dim": 300, "jk": "last", "dropout": 0.0,
              "virtual_node": False, "residual": False, "conv_options": {}}  # fmt: skip
    config = EncoderConfig.from_dict(json.loads(json.dumps(legacy)))
    assert config.scheme == get_spec("hu") and config.scheme.self_loop_token == (4, 0)
    assert config.to_dict() == legacy


def test_store_directory_names_are_unchanged():
    # the suffix hashes the spec's plain data: stores cached before the spec existed are still found
    key = store_key("a" * 64, get_spec("hu"), "x", ParseOptions().describe())
    assert key == "x-hu-v1-f2-aaaaaaaaaaaaaaaa-ad3b2584"


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_round_trip_through_json(name):
    spec = get_spec(name)
    assert FeaturizationSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec is get_scheme(name).spec and spec.name == name
    assert len(spec.atom_vocab) == len(spec.atom_features) and len(spec.bond_vocab) == len(spec.bond_features)


def test_featurized_values_lie_inside_the_vocabulary():
    for name in SCHEMES:
        result = molssl.featurize_many(["CC(=O)[O-].[Na+]", "c1ccccc1", "F/C=C/F", "[Pt](Cl)(Cl)(N)N"], scheme=name)
        spec = result.scheme
        assert spec == get_spec(name)
        x, edge_attr = result.graphs.x, result.graphs.edge_attr
        assert x.shape[1] == len(spec.atom_features) and edge_attr.shape[1] == len(spec.bond_features)
        assert (x.max(axis=0) < spec.atom_vocab).all() and (edge_attr.max(axis=0) < spec.bond_vocab).all()


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_spec("hu").version = 2  # type: ignore[misc]


def test_from_dict_names_unknown_and_missing_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\], missing keys \[\]"):
        FeaturizationSpec.from_dict({**LEGACY_HU, "colour": 1})
    partial = {k: v for k, v in LEGACY_HU.items() if k != "bond_vocab"}
    with pytest.raises(ValueError, match=r"missing keys \['bond_vocab'\]"):
        FeaturizationSpec.from_dict(partial)
    with pytest.raises(ValueError, match="must be a dict"):
        FeaturizationSpec.from_dict(["hu"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"atom_vocab": [120]}, "one positive size per atom feature"),
        ({"bond_vocab": [6, 0]}, "one positive size per bond feature"),
        ({"atom_mask_token": [120, 0]}, "atom_mask_token must be None or one value per column inside"),
        ({"self_loop_token": [4]}, "self_loop_token must be None"),
        ({"version": 0}, "version must be an int >= 1"),
        ({"version": True}, "version must be an int >= 1"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"atom_features": "atom_type"}, "atom_features must be a non-empty list"),
        ({"atom_vocab": [120.0, 3]}, "atom_vocab must hold ints"),
    ],
)
def test_invalid_specs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        FeaturizationSpec.from_dict({**LEGACY_HU, **change})


def test_get_spec_accepts_name_spec_and_dict():
    spec = get_spec("hu")
    assert get_spec(spec) is spec and get_spec(LEGACY_HU) == spec
    with pytest.raises(ValueError, match="valid schemes: hu, ogb"):
        get_spec("nope")


def test_expanding_a_scheme_name_imports_no_rdkit():
    code = (
        "import sys\n"
        "from molssl.nn.encoder import EncoderConfig\n"
        "config = EncoderConfig(scheme='ogb')\n"
        "assert config.scheme.atom_vocab[0] == 120, config.scheme\n"
        "print(sorted(m for m in sys.modules if m == 'rdkit' or m.startswith('rdkit.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
