"""Masked language modelling on SMILES: BERT's masking statistics, span masks, and a loss that falls on real SMILES."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.mlm import NUM_SPECIAL, MaskedLanguageModelling, MLMConfig, choose_targets, corrupt
from molssl.text.data import SmilesSource
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.encoder import SmilesTransformerConfig
from tests.text.conftest import moses_slice


def real_batch(n: int = 256):
    source = SmilesSource(list(moses_slice(n)), default_tokenizer(), check=False)
    return source, source.batch(torch.arange(n), torch.Generator())


def test_exactly_the_rate_of_real_tokens_is_chosen_and_never_a_special_one():
    _, batch = real_batch()
    targets = choose_targets(batch.ids, MLMConfig(), torch.Generator().manual_seed(0))
    real = batch.ids >= NUM_SPECIAL
    assert not (targets & ~real).any()
    expected = torch.floor(real.sum(1).double() * 0.15 + 0.5).clamp(min=1).long()  # round half up, at least one
    assert torch.equal(targets.sum(1), expected)
    # every real position is equally likely: the chosen share of early and late tokens is about the same
    first_half = real & (real.long().cumsum(1) <= real.sum(1, keepdim=True) // 2)
    share = lambda part: (targets & part).sum().item() / part.sum().item()  # noqa: E731
    assert abs(share(first_half) - share(real & ~first_half)) < 0.03


def test_corruption_is_80_10_10():
    source, batch = real_batch()
    ids = batch.ids.repeat(8, 1)  # ~60k chosen positions over the draws
    config = MLMConfig()
    g = torch.Generator().manual_seed(1)
    targets = choose_targets(ids, config, g)
    corrupted = corrupt(ids, targets, config, g, len(source.tokenizer))
    assert torch.equal(corrupted[~targets], ids[~targets])  # only chosen positions change
    chosen, original = corrupted[targets], ids[targets]
    masked = (chosen == source.tokenizer.mask_id).float().mean().item()
    kept = (chosen == original).float().mean().item()
    replaced = ((chosen != original) & (chosen != source.tokenizer.mask_id)).float().mean().item()
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1 - 0.1 / len(source.tokenizer)) < 0.01 and abs(replaced - 0.1) < 0.01
    assert (chosen >= NUM_SPECIAL).logical_or(chosen == source.tokenizer.mask_id).all()  # never [PAD]/[CLS]/[SEP]/[UNK]


def test_span_masking_chooses_runs_of_tokens():
    _, batch = real_batch(64)
    targets = choose_targets(batch.ids, MLMConfig(masking="spans", span_length=3), torch.Generator().manual_seed(2))
    assert not (targets & (batch.ids < NUM_SPECIAL)).any()
    in_long_runs = 0
    for row in targets:
        edges = torch.diff(torch.cat([torch.tensor([0]), row.int(), torch.tensor([0])])).nonzero().flatten().view(-1, 2)
        lengths = (edges[:, 1] - edges[:, 0]).tolist()  # runs of chosen tokens (adjacent spans merge)
        in_long_runs += sum(n for n in lengths if n >= 3)
    # whole spans, except where a span placed past a shorter row's end is cut
    assert in_long_runs > 0.9 * targets.sum().item()
    share = targets.sum().item() / (batch.ids >= NUM_SPECIAL).sum().item()
    assert 0.08 < share < 0.16  # spans over the longest row's positions: shorter rows get their share of 15%


def test_config_is_validated():
    with pytest.raises(ValueError, match="mask_token_rate"):
        MLMConfig(mask_token_rate=0.95, random_token_rate=0.1)
    with pytest.raises(ValueError, match="valid maskings"):
        MLMConfig(masking="words")


def test_loss_decreases_on_real_smiles():
    torch.manual_seed(0)
    source = SmilesSource(list(moses_slice(512)), default_tokenizer(), check=False)
    method = MaskedLanguageModelling(SmilesTransformerConfig(dropout=0.0), MLMConfig())
    optimizer = torch.optim.AdamW(method.parameters(), lr=2e-3)
    losses = []
    for step in range(40):
        g = torch.Generator().manual_seed(step)
        out = method(source.batch(torch.randint(0, len(source), (32,), generator=g), g), g)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert out.embeddings.shape == (32, 64) and 0 < out.metrics["mask_fraction"].item() < 0.3
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)  # from ~ln(164) = 5.1 towards the token frequencies and beyond
