"""PEFT modes on the SMILES transformer: where they act, exact start, what trains, LoRA merge, and a delta
checkpoint of a fine-tuned text model that reloads on its base and predicts the same."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from molssl.nn.encoder import EncoderConfig
from molssl.nn.pretrained import save_encoder
from molssl.peft import get_peft
from molssl.tasks.model import ModelFactory, PredictorConfig
from molssl.tasks.predictor import PropertyPredictor
from molssl.text.batch import TokenBatch, pad_ids
from molssl.text.default_vocabulary import default_tokenizer
from molssl.text.encoder import SmilesTransformer, SmilesTransformerConfig
from tests.conftest import moleculenet_head
from tests.peft.conftest import assert_merged_lora_predicts_the_same, assert_trains_only_its_parameters

ENCODER = SmilesTransformerConfig(dim=32, depth=2, heads=2, max_length=96, dropout=0.0)
# awkward molecules: a salt, aromatic, stereo, one atom, a metal, a charge
SMILES = ["CC(=O)[O-].[Na+]", "c1ccccc1O", "C[C@H](N)C(=O)O", "[Cl-]", "CC[Sn](CC)(CC)CC", "C[N+](C)(C)C"]


@pytest.fixture(scope="module")
def batch():
    tokenizer = default_tokenizer()
    return TokenBatch(pad_ids([tokenizer.encode(s).ids for s in SMILES]))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    torch.manual_seed(5)
    encoder = SmilesTransformer(ENCODER)
    with torch.no_grad():  # away from BERT's init, so that biases and norms are not all 0 and 1
        for p in encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("text_enc") / "encoder"
    save_encoder(encoder, path)
    return encoder, path


def _models(pretrained, peft):
    encoder, _ = pretrained
    plain = ModelFactory(PredictorConfig(encoder=ENCODER), encoder.state_dict())()
    adapted = ModelFactory(PredictorConfig(encoder=ENCODER, peft=peft), encoder.state_dict())()
    adapted.head.load_state_dict(plain.head.state_dict())
    return plain.eval(), adapted.eval()


def test_sites_are_each_blocks_two_sublayers_and_the_token_embeddings(pretrained):
    encoder, _ = pretrained
    sites = encoder.peft_sites()
    assert sites.layer_outputs == ("blocks.0.proj", "blocks.0.mlp", "blocks.1.proj", "blocks.1.mlp")
    assert sites.input_features == "token_embedding" and sites.input_dim == sites.layer_dims[0] == 32
    lora = PredictorConfig(encoder=ENCODER, peft={"method": "lora"}).peft
    assert lora["lora_targets"] == ["blocks.*.qkv", "blocks.*.proj"]  # the encoder's default, recorded
    assert PredictorConfig(encoder=EncoderConfig(scheme="hu"), peft={"method": "lora"}).peft["lora_targets"] == ["convs.*"]
    from molssl.vision.resnet import ResNetConfig

    with pytest.raises(ValueError, match="GNN and SMILES transformer encoders, not to ResNetConfig"):
        PredictorConfig(encoder=ResNetConfig(), peft={"method": "adapter"})


@pytest.mark.parametrize("method", ["adapter", "lora", "gpf", "gpf_plus"])
def test_modules_act_and_adapters_and_lora_start_at_the_pretrained_function(pretrained, batch, method):
    plain, adapted = _models(pretrained, {"method": method})
    if method in ("adapter", "lora"):
        assert torch.equal(adapted(batch), plain(batch))
    with torch.no_grad():
        for p in get_peft(adapted.encoder).parameters():
            p.add_(0.2 * torch.randn_like(p))
    assert not torch.allclose(adapted(batch), plain(batch))  # the modules are wired in


@pytest.mark.parametrize("method", ["adapter", "lora", "bitfit", "gpf", "gpf_plus"])
def test_only_the_intended_parameters_get_gradients(pretrained, batch, method):
    _, model = _models(pretrained, {"method": method})
    assert_trains_only_its_parameters(model, method, batch, lambda name: ".norm" in name)


def test_lora_merged_into_the_weights_predicts_the_same(pretrained, batch):
    _, model = _models(pretrained, {"method": "lora", "lora_rank": 4})
    assert_merged_lora_predicts_the_same(model, batch, 4)  # 2 blocks x (qkv, proj)


def test_fit_lora_saves_a_delta_that_reloads_on_its_base_and_predicts_the_same(pretrained, tmp_path):
    encoder, path = pretrained
    data = moleculenet_head("bbbp", 160, tmp_path)
    predictor = PropertyPredictor(encoder="smiles_transformer", device="cpu", **{k: v for k, v in ENCODER.to_dict().items()
                                  if k in ("dim", "depth", "heads", "max_length")})  # fmt: skip
    predictor.fit(data, pretrained=path, epochs=2, seeds=(0,), mode="lora", peft={"lora_rank": 4})
    m = predictor.metrics_
    peft_params = sum(p.numel() for p in get_peft(predictor.model_.encoder).parameters())
    head = sum(p.numel() for n, p in predictor.model_.named_parameters() if not n.startswith("encoder."))
    assert m["trainable_parameters"] == peft_params + head < m["total_parameters"] / 5
    base = encoder.state_dict()
    tuned = {k: v for k, v in predictor.model_.encoder.state_dict().items() if not k.startswith("peft.")}
    assert all(torch.equal(tuned[k], base[k]) for k in base)  # the pretrained weights stayed frozen
    predictor.save(tmp_path / "delta", delta=True)
    smiles = ["CCO", "N[C@@H](C)C(=O)O", "CC(=O)[O-].[Na+]", "C1CC("]
    before = predictor.predict(smiles)
    assert before["error"].tolist()[:3] == ["", "", ""] and before["error"].iloc[3]
    pd.testing.assert_frame_equal(PropertyPredictor.load(tmp_path / "delta").predict(smiles), before)
