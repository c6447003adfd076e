"""The multimodal encoder kind: plain-data config (nested and dotted options), one encoder per modality."""

from __future__ import annotations

import pytest
import torch

from molssl.multimodal.encoder import MultimodalEncoder, MultimodalEncoderConfig
from molssl.nn.encoders import build_encoder, config_from_dict, config_to_dict


def test_config_round_trips_and_takes_dotted_options():
    config = config_from_dict({"kind": "multimodal", "graph": {"num_layers": 2, "scheme": "hu"}, "graph.emb_dim": 16, "smiles.dim": 32,
                               "smiles.heads": 2})  # fmt: skip
    assert isinstance(config, MultimodalEncoderConfig) and config.modalities == ("graph", "smiles")
    assert config.encoders["graph"].num_layers == 2 and config.encoders["graph"].emb_dim == 16
    assert config.out_dims == {"graph": 16, "smiles": 32} and config.out_dim == 48
    data = config_to_dict(config)
    assert data["graph"]["kind"] == "gnn" and config_from_dict(data) == config
    image = MultimodalEncoderConfig.from_dict({"image.kind": "vit", "image.image_size": 32, "image.patch_size": 8,
                                               "image.dim": 32, "image.depth": 1, "image.heads": 2, "smiles.dim": 32, "smiles.heads": 2})  # fmt: skip
    assert type(image.encoders["image"]).__name__ == "ViTConfig"
    with pytest.raises(ValueError, match="<modality>.<option>"):
        config_from_dict({"kind": "multimodal", "num_layers": 3})
    with pytest.raises(ValueError):
        config_from_dict({"kind": "multimodal", "graph.scheme": "hu", "graph.wings": 3})


def test_forward_concatenates_every_modalitys_embedding(corpus, open_built):
    path, _ = corpus
    source = open_built(path, ("graph", "smiles"))
    config = MultimodalEncoderConfig.from_dict({**source.encoder_options(), "graph.num_layers": 2, "graph.emb_dim": 16,
                                                "smiles.dim": 32, "smiles.heads": 2, "smiles.depth": 1})  # fmt: skip
    encoder = build_encoder(config).eval()
    assert isinstance(encoder, MultimodalEncoder)
    batch = source.batch(torch.arange(6), torch.Generator())
    parts = encoder.embed(batch)
    assert parts["graph"].shape == (6, 16) and parts["smiles"].shape == (6, 32)
    assert torch.equal(encoder(batch), torch.cat([parts["graph"], parts["smiles"]], 1))
    # batched == one molecule at a time
    single = encoder.embed(source.batch(torch.tensor([4]), torch.Generator()))
    assert torch.allclose(single["graph"][0], parts["graph"][4], atol=1e-5)
    assert torch.allclose(single["smiles"][0], parts["smiles"][4], atol=1e-5)
