"""attach_peft on a non-graph encoder: zero-init identity, trainable sets, LoRA merge, deep copies."""

from __future__ import annotations

import copy

import pytest
import torch

from molssl.peft import (
    PeftConfig,
    attach_peft,
    bitfit_parameter_names,
    count_trainable,
    get_peft,
    lora_target_names,
    mark_trainable,
    merge_lora,
)
from tests.peft.conftest import SITES, TokenEncoder


def _perturb(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.3)


@pytest.mark.parametrize("config", [PeftConfig(method="adapter", adapter_dim=3), PeftConfig(method="lora", lora_rank=2, lora_targets=("blocks.*",))])
def test_adapters_and_lora_start_exactly_at_the_pretrained_function(encoder, tokens, config):
    before = encoder(tokens)
    peft = attach_peft(encoder, config, SITES)
    assert sum(p.numel() for p in peft.parameters()) > 0
    assert torch.equal(encoder(tokens), before)  # bitwise: the zero up-projection / zero B adds exactly 0
    _perturb(peft)
    assert not torch.allclose(encoder(tokens), before)  # and the modules really act on the output


@pytest.mark.parametrize("method", ["adapter", "lora", "bitfit", "gpf", "gpf_plus"])
def test_only_the_intended_parameters_get_gradients(encoder, tokens, method):
    attach_peft(encoder, PeftConfig(method=method, lora_targets=("blocks.*",)), SITES)
    names = mark_trainable(encoder, method)
    encoder.train()
    encoder(tokens).square().sum().backward()
    got = {n for n, p in encoder.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    frozen_with_grad = {n for n, p in encoder.named_parameters() if not p.requires_grad and p.grad is not None}
    assert not frozen_with_grad
    if method == "bitfit":
        assert set(names) == {n for n, _ in encoder.named_parameters() if n.endswith(".bias") or n.startswith("norms.")}
        assert "embed.weight" not in names and "blocks.0.0.weight" not in names
    else:
        assert names and all(n.startswith("peft.") for n in names)
    # every trainable parameter gets a gradient, but those behind a zero-initialized factor (LoRA's A,
    # the adapter's down-projection) only once that factor moved away from zero
    behind_zero = {n for n in names if n.endswith("lora_a") or ".down." in n}
    assert got == set(names) - behind_zero
    assert count_trainable(encoder) == sum(p.numel() for n, p in encoder.named_parameters() if n in names)


def test_prompts_add_to_the_input_features(encoder, tokens):
    base = encoder.embed(tokens)
    peft = attach_peft(encoder, PeftConfig(method="gpf"), SITES)
    prompt = peft.prompts["embed"].prompt
    assert torch.equal(encoder.embed(tokens), base + prompt)
    plus = attach_peft(TokenEncoder(), PeftConfig(method="gpf_plus", prompt_basis=3), SITES).prompts["embed"]
    x = torch.randn(4, 8)
    weights = torch.softmax(x @ plus.query.weight.T + plus.query.bias, dim=-1)
    expected = x + sum(weights[:, j : j + 1] * plus.basis[j] for j in range(3))  # per node, a mix of the bases
    torch.testing.assert_close(plus(x), expected)


def test_lora_merge_gives_the_same_outputs_and_removes_the_update(encoder, tokens):
    attach_peft(encoder, PeftConfig(method="lora", lora_rank=2, lora_alpha=4.0, lora_targets=("blocks.*",)), SITES)
    _perturb(get_peft(encoder))
    adapted = encoder(tokens)
    assert merge_lora(encoder) == 4
    assert type(encoder.blocks[0][0]) is torch.nn.Linear and not len(get_peft(encoder).lora)
    torch.testing.assert_close(encoder(tokens), adapted, rtol=1e-5, atol=1e-5)
    assert merge_lora(encoder) == 0


def test_deep_copy_is_wired_to_its_own_modules(encoder, tokens):
    attach_peft(encoder, PeftConfig(method="adapter"), SITES)
    before = encoder(tokens)
    twin = copy.deepcopy(encoder)
    _perturb(get_peft(twin))
    assert torch.equal(encoder(tokens), before)  # the original's hooks still call the original's adapters
    assert not torch.allclose(twin(tokens), before)  # the copy's call the copy's


def test_errors_name_what_to_fix(encoder):
    with pytest.raises(ValueError, match="matches no linear layer.*blocks.0.0"):
        lora_target_names(encoder, ("convs.*",))
    with pytest.raises(ValueError, match="no module 'missing'"):
        attach_peft(encoder, PeftConfig(method="gpf"), type(SITES)((), (), "missing", 8))
    attach_peft(encoder, PeftConfig(method="adapter"), SITES)
    with pytest.raises(ValueError, match="attach PEFT modules once"):
        attach_peft(encoder, PeftConfig(method="adapter"), SITES)
    with pytest.raises(ValueError, match="needs its modules attached"):
        mark_trainable(encoder, "lora")
    with pytest.raises(ValueError, match="bare Sequential"):
        attach_peft(torch.nn.Sequential(torch.nn.Linear(2, 2)), PeftConfig(method="bitfit"), SITES)


def test_bitfit_selects_biases_and_norms(encoder):
    names = bitfit_parameter_names(encoder)
    assert "norms.0.weight" in names and "blocks.1.2.bias" in names and "blocks.1.2.weight" not in names
