"""The data-source contract: moving batches to a device, opening sources by modality name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pytest
import torch

from molssl.pretrain.graph_source import GraphSource
from molssl.pretrain.source import NAMED_DATA, DataSource, epoch_permutation, named_data_modality, open_source, to_device


class Pair(NamedTuple):
    a: torch.Tensor
    b: list


@dataclass
class Frame:
    x: torch.Tensor
    name: str


def test_to_device_reaches_every_tensor():
    batch = {"x": torch.ones(2), "pair": Pair(torch.zeros(1), [torch.ones(3), "label"]), "frame": Frame(torch.ones(1), "f"), "n": 3}
    moved = to_device(batch, torch.device("meta"))
    assert moved["x"].is_meta and moved["pair"].a.is_meta and moved["pair"].b[0].is_meta and moved["frame"].x.is_meta
    assert isinstance(moved["pair"], Pair) and moved["pair"].b[1] == "label" and moved["frame"].name == "f" and moved["n"] == 3


def test_epoch_permutation_is_seeded_by_seed_and_epoch():
    a = epoch_permutation(50, epoch=1, seed=7)
    assert sorted(a.tolist()) == list(range(50)) and a.dtype == torch.int64
    assert torch.equal(a, epoch_permutation(50, epoch=1, seed=7))
    assert not torch.equal(a, epoch_permutation(50, epoch=2, seed=7))


def test_graph_sources_open_by_name(store):
    source = open_source("graph", store)
    assert isinstance(source, GraphSource) and isinstance(source, DataSource) and len(source) == 400
    batch = source.batch(torch.tensor([3, 1]), torch.Generator())
    assert int(batch.num_graphs) == 2 and batch.x.shape[0] == int(source.graphs.num_atoms[[3, 1]].sum())
    assert source.preprocessing()["scheme"]["name"] == "hu" and source.unit == "graphs"
    with pytest.raises(ValueError, match="unknown GraphDataOptions keys \\['schema'\\]"):
        open_source("graph", store, {"schema": "hu"})
    with pytest.raises(ValueError, match="this method trains on labels"):
        open_source("graph", None, labels=True)


@pytest.mark.parametrize("name", sorted(NAMED_DATA))
def test_a_named_data_set_is_its_modality_embedded_set(name):
    modality = named_data_modality(name)
    assert modality == NAMED_DATA[name] and modality != "graph"
    source = open_source(modality, name)  # the opener reads the name as its embedded set, not as a path
    assert source.modality == modality and source.describe()["path"].startswith("embedded:")
    assert source.describe()["sha256"] == open_source(modality, "embedded").describe()["sha256"]
    assert named_data_modality(f"./{name}") is None and named_data_modality(None) is None


def test_unknown_modality_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown data modality 'smell'; valid data modalities: .*graph"):
        open_source("smell", "x")
    with pytest.raises(ValueError, match="graph data, but the method trains on image data"):
        open_source("image", _graph_stub())


def _graph_stub() -> GraphSource:
    from molssl.chem.featurize import featurize_many

    result = featurize_many(["CCO", "c1ccccc1"], scheme="hu")
    return GraphSource(result.graphs, result.scheme, {"kind": "arrays"})
