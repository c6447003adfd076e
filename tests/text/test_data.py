"""The SMILES data source: deterministic randomized views of the same molecule, counts, errors naming rows."""

from __future__ import annotations

import pytest
import torch

from molssl.pretrain.source import open_source
from molssl.text.data import SmilesSource, open_smiles_source
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.randomize import canonical_smiles


def strings(source: SmilesSource, batch) -> list[str]:
    return [source.tokenizer.decode(row.tolist()) for row in batch.ids]


def test_views_are_the_same_molecule_and_repeat_with_the_generator(text_smiles):
    source = SmilesSource(text_smiles, default_tokenizer(), randomize=True, views=2)
    index = torch.arange(len(text_smiles))
    a = source.batch(index, torch.Generator().manual_seed(7))
    b = source.batch(index, torch.Generator().manual_seed(7))
    c = source.batch(index, torch.Generator().manual_seed(8))
    assert a.views == 2 and a.ids.shape[0] == 2 * len(text_smiles)
    assert torch.equal(a.ids, b.ids) and not torch.equal(a.ids, c.ids)
    texts = strings(source, a)
    view0, view1 = texts[: len(text_smiles)], texts[len(text_smiles) :]
    for original, x, y in zip(text_smiles, view0, view1):
        assert canonical_smiles(x) == canonical_smiles(y) == canonical_smiles(original)
    assert sum(x != y for x, y in zip(view0, view1)) > 0.9 * len(text_smiles)
    assert any("@" in s for s in view0)  # stereo is written, not lost


def test_plain_source_gives_the_strings_as_written(text_smiles):
    source = SmilesSource(text_smiles, default_tokenizer())
    batch = source.batch(torch.tensor([3, 0]), torch.Generator())
    assert strings(source, batch) == [text_smiles[3], text_smiles[0]]
    assert batch.attention_mask.sum(1).tolist() == [len(source.tokenizer.encode(text_smiles[i]).ids) for i in (3, 0)]
    assert source.sizes().shape == (len(text_smiles),)


def test_describe_records_the_vocabulary_and_unknown_tokens():
    source = SmilesSource(["CCO", "CC[Gd+3]C", "C[Ge]C"], default_tokenizer())
    described = source.describe()
    assert described["vocab_sha256"] == default_tokenizer().digest()
    assert described["unknown_tokens"] == 2 and described["molecules"] == 3
    assert source.encoder_options()["vocabulary"] == default_tokenizer().to_dict()


def test_bad_rows_and_options_are_errors_naming_them(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("SMILES\nCCO\nC1CC\nCCN\n")
    with pytest.raises(ValueError, match=r"mols.smi, row 1: RDKit cannot parse SMILES 'C1CC'"):
        open_smiles_source(path, {"randomize": True})
    with pytest.raises(ValueError, match="unknown text data options"):
        open_smiles_source(path, {"randomise": True})
    with pytest.raises(ValueError, match="randomize=True"):
        SmilesSource(["CCO"], default_tokenizer(), views=2)


def test_opened_by_modality_name(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("name,smiles\na,CCO\nb,c1ccccc1\n")
    source = open_source("text", path, {"randomize": True, "views": 2})
    assert isinstance(source, SmilesSource) and len(source) == 2 and source.describe()["sha256"]
