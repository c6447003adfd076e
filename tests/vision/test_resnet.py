import json

import pytest
import torch

from molssl.vision.resnet import ResNet, ResNetConfig


def test_config_round_trips_through_json_and_refuses_unknown_keys():
    config = ResNetConfig(width=8, in_channels=1, small_images=True, blocks=(1, 2, 1, 1))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["kind"] == "resnet" and ResNetConfig.from_dict(data) == config
    assert config.out_dim == 64
    with pytest.raises(ValueError, match="unknown ResNetConfig keys \\['depth'\\]"):
        ResNetConfig.from_dict({**data, "depth": 3})
    with pytest.raises(ValueError, match="expected 'resnet'"):
        ResNetConfig.from_dict({**data, "kind": "vit"})
    with pytest.raises(ValueError, match="4 block counts"):
        ResNetConfig(blocks=(2, 2))


def test_resnet18_layout_has_the_published_parameter_count():
    # torchvision's resnet18 has 11,689,512 parameters, of which the 1000-class fc layer holds 513,000
    model = ResNet(ResNetConfig())
    assert sum(p.numel() for p in model.parameters()) == 11_689_512 - 513_000
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 512)


@pytest.mark.parametrize("small_images, size", [(True, 28), (False, 40)])
def test_batched_embeddings_equal_single_image_embeddings(small_images, size):
    torch.manual_seed(0)
    model = ResNet(ResNetConfig(width=4, in_channels=1, small_images=small_images, blocks=(1, 1, 1, 1))).eval()
    for module in model.modules():  # the zero-initialized last BNs would make every block an identity
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
    x = torch.rand(3, 1, size, size)
    with torch.no_grad():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert batched.shape == (3, 32)
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])


def test_resnet_names_the_expected_input_shape():
    model = ResNet(ResNetConfig(width=4, in_channels=3, blocks=(1, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        model(torch.rand(2, 1, 32, 32))
