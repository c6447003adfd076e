"""Randomized-SMILES contrastive learning: the positives are the same molecule, the loss is the core's, it falls."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.smiles_contrastive import SmilesContrastive, SmilesContrastiveConfig
from molssl.ssl.losses import info_nce, nt_xent
from molssl.text.data import SmilesSource
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.encoder import SmilesTransformerConfig
from molssl.text.randomize import canonical_smiles
from tests.text.conftest import moses_slice


def source(n: int = 256) -> SmilesSource:
    plain = SmilesSource(list(moses_slice(n)), default_tokenizer())
    data, options = SmilesContrastive.prepare_data(plain, {})
    assert data.views == 2 and data.randomize and options == {}
    return data


def test_positives_are_the_same_molecule_written_differently():
    data = source(64)
    batch = data.batch(torch.arange(64), torch.Generator().manual_seed(0))
    decoded = [data.tokenizer.decode(row.tolist()) for row in batch.ids]
    view0, view1 = decoded[:64], decoded[64:]
    assert [canonical_smiles(s) for s in view0] == [canonical_smiles(s) for s in view1]
    assert [canonical_smiles(s) for s in view0] == [canonical_smiles(s) for s in moses_slice(64)]
    assert sum(a != b for a, b in zip(view0, view1)) >= 60


@pytest.mark.parametrize("loss", ["nt_xent", "info_nce"])
def test_loss_is_the_core_loss_of_the_projected_views(loss):
    torch.manual_seed(0)
    method = SmilesContrastive(SmilesTransformerConfig(dropout=0.0), SmilesContrastiveConfig(loss=loss)).eval()
    batch = source(32).batch(torch.arange(32), torch.Generator().manual_seed(0))
    out = method(batch, torch.Generator())
    z1, z2 = method.projection(method.encoder(batch.view(0))), method.projection(method.encoder(batch.view(1)))
    reference = nt_xent(z1, z2, 0.1) if loss == "nt_xent" else info_nce(z1, z2, 0.1)
    torch.testing.assert_close(out.loss, reference, atol=1e-5, rtol=1e-5)


def test_queue_adds_past_keys_as_negatives():
    torch.manual_seed(0)
    method = SmilesContrastive(SmilesTransformerConfig(), SmilesContrastiveConfig(loss="info_nce", queue_size=48))
    data = source(64)
    for step in range(3):
        g = torch.Generator().manual_seed(step)
        method(data.batch(torch.arange(step * 16, step * 16 + 16), g), g)
    assert len(method.queue) == 48 and method.queue.is_full
    with pytest.raises(ValueError, match="two views"):
        method(SmilesSource(["CCO", "CCN"], default_tokenizer()).batch(torch.arange(2), torch.Generator()), torch.Generator())


def test_loss_decreases_on_real_smiles():
    torch.manual_seed(0)
    data = source(512)
    method = SmilesContrastive(SmilesTransformerConfig(dropout=0.0), SmilesContrastiveConfig())
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-3)
    losses = []
    for step in range(30):
        g = torch.Generator().manual_seed(step)
        out = method(data.batch(torch.randint(0, len(data), (32,), generator=g), g), g)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    assert out.metrics["top1"].item() > 0.3
