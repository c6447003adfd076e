"""Delta states and base digests: exact reconstruction, refusal of other bases."""

from __future__ import annotations

import pytest
import torch

from molssl.peft import BaseMismatchError, PeftConfig, apply_delta, attach_peft, base_record, check_base, load_base, state_delta, state_sha256
from tests.peft.conftest import SITES, TokenEncoder


def test_state_sha256_depends_on_values_names_and_dtypes():
    state = {"a": torch.arange(6.0).view(2, 3), "n": torch.tensor(3)}
    assert state_sha256(state) == state_sha256({k: v.clone() for k, v in reversed(state.items())})
    assert state_sha256(state) != state_sha256({**state, "a": state["a"] + 1e-6})
    assert state_sha256(state) != state_sha256({"b": state["a"], "n": state["n"]})
    assert state_sha256(state) != state_sha256({**state, "n": torch.tensor(3, dtype=torch.int32)})


def test_delta_holds_only_new_and_changed_tensors_and_rebuilds_exactly(encoder):
    base = {k: v.clone() for k, v in encoder.state_dict().items()}
    attach_peft(encoder, PeftConfig(method="adapter"), SITES)
    with torch.no_grad():
        encoder.norms[1].bias.add_(0.5)  # a BitFit-like change of a base tensor
    model_state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()} | {"head.weight": torch.ones(1, 8)}
    delta = state_delta(model_state, base, prefix="encoder.")
    assert set(delta) == {k for k in model_state if k.startswith("encoder.peft.")} | {"encoder.norms.1.bias", "head.weight"}
    rebuilt = apply_delta(base, delta, prefix="encoder.")
    assert rebuilt.keys() == model_state.keys() and all(torch.equal(rebuilt[k], model_state[k]) for k in model_state)


def test_check_base_refuses_other_weights():
    base = TokenEncoder().state_dict()
    record = base_record("hu2020/x", base)
    check_base(record, {k: v.clone() for k, v in base.items()}, "copy", "ckpt")
    other = TokenEncoder().state_dict()
    with pytest.raises(BaseMismatchError, match=r"ckpt: this delta checkpoint was trained on base encoder 'hu2020/x'.*'other' has other weights"):
        check_base(record, other, "other", "ckpt")


def test_load_base_keeps_the_peft_modules_and_refuses_misfits(encoder):
    base = {k: v.clone() for k, v in encoder.state_dict().items()}
    fresh = TokenEncoder()
    peft = attach_peft(fresh, PeftConfig(method="gpf"), SITES)
    prompt = peft.prompts["embed"].prompt.detach().clone()
    load_base(fresh, base, "base-dir")
    assert torch.equal(fresh.embed.weight, base["embed.weight"]) and torch.equal(peft.prompts["embed"].prompt, prompt)
    from molssl.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="base-dir.*missing: embed.weight"):
        load_base(fresh, {k: v for k, v in base.items() if k != "embed.weight"}, "base-dir")
