"""The multimodal source keeps molecule i of every modality the same molecule, through batching and rank
sharding; molecules a modality cannot represent are counted and listed, not dropped silently."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from rdkit import Chem

from molssl.chem.featurize import featurize_many
from molssl.multimodal.source import MultimodalSource, check_modalities, open_multimodal_source
from molssl.pretrain.batch_order import BatchOrder
from molssl.pretrain.source import open_source
from molssl.text.default_vocabulary import default_tokenizer
from molssl.vision.depict import depict_one
from tests.multimodal.conftest import BAD


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def graph_signature(x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> tuple:
    """Atom types and typed bonds of a graph, independent of atom order (chirality tags depend on it: left out)."""
    atoms = x[:, 0].tolist()
    bonds = sorted((tuple(sorted((atoms[int(i)], atoms[int(j)]))), int(t)) for (i, j), t in zip(edge_index.t().tolist(), edge_attr[:, 0]))
    return tuple(sorted(atoms)), tuple(bonds)


def digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(array, dtype=np.uint8)).tobytes()).hexdigest()


def test_every_part_of_every_batch_is_the_same_molecule_across_ranks(corpus, open_built):
    path, _ = corpus
    source = open_built(path, ("graph", "smiles", "image"), smiles_form="randomized")
    tokenizer = default_tokenizer()
    seen = []
    for rank in range(2):
        order = BatchOrder(source, batch_size=8, seed=3, rank=rank, world_size=2)
        for global_batch in order.epoch(0)[:3]:
            indices = order.rank_batch(global_batch)
            batch = source.batch(indices, torch.Generator().manual_seed(int(indices[0])))
            assert torch.equal(batch.index, indices) and batch.num_graphs == 4
            for i, index in enumerate(indices.tolist()):
                truth = source.smiles(index)
                # text: the (randomized) tokens decode to the molecule
                decoded = tokenizer.decode(batch.smiles.ids[i].tolist())
                assert canonical(decoded) == canonical(truth)
                # image: the depiction of the molecule's canonical SMILES, pixel for pixel
                pixels = (batch.image.images[i] * 255).round()
                assert digest(pixels) == digest(depict_one(canonical(truth), 32))
                # graph: the molecule's own featurization, and the same atoms and bonds as the decoded text
                g = batch.graph.get_example(i)
                own = featurize_many([truth]).graphs.graph(0)
                assert torch.equal(g.x, own.x) and torch.equal(g.edge_index, own.edge_index)
                other = featurize_many([decoded]).graphs.graph(0)
                assert graph_signature(g.x, g.edge_index, g.edge_attr) == graph_signature(other.x, other.edge_index, other.edge_attr)
                seen.append(index)
    assert len(set(seen)) == len(seen) == 2 * 3 * 4  # the two ranks' shards are disjoint


def test_unrepresentable_molecules_are_counted_and_listed(corpus, open_built):
    path, smiles = corpus
    source = open_built(path, ("graph", "smiles"))
    described = source.describe()
    rejects = described["unrepresentable"]["graph"]
    assert rejects["count"] == 2 and {r["smiles"] for r in rejects["rows"]} == set(BAD)
    assert [r["row"] for r in rejects["rows"]] == [smiles.index(b) for b in BAD]
    assert described["read"] == len(smiles) and len(source) == described["molecules"] == len(smiles) - 2
    assert BAD[0] not in {source.smiles(i) for i in range(len(source))}
    # without graphs, RDKit's parse decides, and both text and image report the rows
    text_image = open_built(path, ("smiles", "image"))
    for modality in ("smiles", "image"):
        assert {r["row"] for r in text_image.describe()["unrepresentable"][modality]["rows"]} == {smiles.index(b) for b in BAD}
    assert len(text_image) == len(source)


def test_each_part_is_its_modalitys_ordinary_source(corpus, open_built):
    path, _ = corpus
    source = open_built(path, ("graph", "smiles", "image"))
    assert [source.part(m).modality for m in ("graph", "smiles", "image")] == ["graph", "text", "image"]
    assert all(len(source.part(m)) == len(source) for m in source.modalities)
    options = source.encoder_options()
    assert set(options) == {"graph.scheme", "smiles.vocabulary", "image.in_channels"} and options["image.in_channels"] == 1
    assert source.preprocessing()["smiles"]["max_length"] == 128
    # canonical SMILES by default: the token ids spell RDKit's canonical form
    batch = source.batch(torch.arange(3), torch.Generator())
    for i in range(3):
        assert default_tokenizer().decode(batch.smiles.ids[i].tolist()) == canonical(source.smiles(i))
    narrowed = source.with_modalities("graph,image")
    assert narrowed.modalities == ("graph", "image") and narrowed.batch(torch.arange(2), torch.Generator()).smiles is None


def test_opening_by_name_and_bad_options(corpus):
    path, _ = corpus
    source = open_source("multimodal", str(path))
    assert isinstance(source, MultimodalSource) and not source.modalities
    with pytest.raises(ValueError, match="with_modalities"):
        source.batch(torch.arange(2), torch.Generator())
    with pytest.raises(ValueError, match="smiles_form"):
        open_multimodal_source(path, {"smiles_form": "kekule"})
    with pytest.raises(ValueError, match="depict_sise"):
        open_multimodal_source(path, {"depict_sise": 32})
    with pytest.raises(ValueError, match="unknown modalities"):
        check_modalities("graph,audio")
    with pytest.raises(FileNotFoundError):
        open_multimodal_source(path.parent / "missing.smi")
