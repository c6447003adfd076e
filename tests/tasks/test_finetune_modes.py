"""Mode options of FinetuneConfig, LP-FT phases and optimizer groups."""

from __future__ import annotations

import pytest

from molssl.nn.encoder import EncoderConfig
from molssl.tasks.finetune import FinetuneConfig
from molssl.tasks.finetune_modes import make_optimizer, training_phases
from molssl.tasks.model import PredictorConfig, PropertyModel, set_trainable


def test_peft_options_round_trip_through_plain_data():
    config = FinetuneConfig(mode="lora", peft={"lora_rank": 4, "lora_targets": ["convs.1.*"]})
    assert FinetuneConfig.from_dict(config.to_dict()) == config
    assert FinetuneConfig(mode="lp_ft", epochs=9).lp_epochs == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "adapter", "peft": {"lora_rank": 4}}, r"\['lora_rank'\] do not apply to mode 'adapter'; its options: adapter_dim"),
        ({"mode": "full", "peft": {"adapter_dim": 4}}, "apply only to the PEFT modes"),
        ({"mode": "lora", "peft": {"lora_rank": 0}}, "lora_rank must be a positive int"),
        ({"mode": "lp_ft", "epochs": 1}, "lp_ft needs at least 2 epochs"),
        ({"mode": "lp_ft", "epochs": 5, "lp_epochs": 5}, r"lp_epochs must be an int in 1..4"),
        ({"mode": "full", "lp_epochs": 2}, "lp_epochs applies only to mode 'lp_ft'"),
        ({"mode": "prompt"}, "valid modes: full, linear_probe, last_k, adapter, lora, bitfit, gpf, gpf_plus, lp_ft"),
    ],
)
def test_invalid_mode_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FinetuneConfig(**kwargs)


def test_phases():
    assert training_phases("lp_ft", 10, 3) == {1: "linear_probe", 4: "full"}
    assert training_phases("adapter", 10, None) == {1: "adapter"}


def test_new_parameters_train_at_lr_pretrained_ones_at_encoder_lr():
    model = PropertyModel(PredictorConfig(encoder=EncoderConfig(scheme="hu", num_layers=2, emb_dim=16), peft={"method": "bitfit"}))
    set_trainable(model, "bitfit")
    optimizer = make_optimizer(model, lr=1e-3, encoder_lr=1e-5, weight_decay=0.0)
    new, pretrained = optimizer.param_groups
    assert new["lr"] == 1e-3 and pretrained["lr"] == 1e-5
    named = {id(p): n for n, p in model.named_parameters()}
    assert {named[id(p)].split(".")[0] for p in new["params"]} == {"head"} | ({"readout"} if list(model.readout.parameters()) else set())
    assert all(named[id(p)].startswith("encoder.") and named[id(p)].endswith(("bias", "weight")) for p in pretrained["params"])
    adapter = PropertyModel(PredictorConfig(encoder=EncoderConfig(scheme="hu", num_layers=2, emb_dim=16), peft={"method": "adapter"}))
    set_trainable(adapter, "adapter")
    groups = make_optimizer(adapter, lr=1e-3, encoder_lr=1e-5, weight_decay=0.0).param_groups
    assert len(groups) == 1  # adapters are new weights: the head's lr, no frozen encoder weight in any group


def test_a_peft_mode_on_a_model_without_its_modules_says_how_to_build_it():
    model = PropertyModel(PredictorConfig(encoder=EncoderConfig(scheme="hu", num_layers=2, emb_dim=16)))
    with pytest.raises(ValueError, match=r"needs a model built with its PEFT modules \(attached: None\).*PredictorConfig\(peft="):
        set_trainable(model, "lora")
    set_trainable(model, "bitfit")  # BitFit adds no modules
    assert {n for n, p in model.named_parameters() if p.requires_grad and n.startswith("encoder.")} == {
        n for n, _ in model.named_parameters() if n.startswith("encoder.") and (n.endswith(".bias") or ".batch_norms." in n)
    }
