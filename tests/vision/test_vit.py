import json
import math

import pytest
import torch

from molssl.vision.vit import Attention, ViT, ViTConfig, sincos_positions_2d


def tiny(**options) -> ViT:
    torch.manual_seed(0)
    return ViT(ViTConfig(**{"image_size": 8, "patch_size": 2, "in_channels": 3, "dim": 16, "depth": 2, "heads": 2, **options}))


def test_config_round_trips_and_validates():
    config = ViTConfig(image_size=28, patch_size=7, dim=32, depth=1, heads=4, mlp_ratio=2.0)
    assert ViTConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.out_dim == 32 and config.num_patches == 16
    with pytest.raises(ValueError, match="multiple of patch_size"):
        ViTConfig(image_size=28, patch_size=5)
    with pytest.raises(ValueError, match="multiple of heads"):
        ViTConfig(dim=32, heads=3)
    with pytest.raises(ValueError, match="unknown ViTConfig keys"):
        ViTConfig.from_dict({"width": 3})


def test_patchify_matches_a_per_patch_loop_and_unpatchify_inverts_it():
    model = tiny()
    x = torch.rand(2, 3, 8, 8)
    patches = model.patchify(x)
    assert patches.shape == (2, 16, 12)
    for b in range(2):
        for i in range(4):
            for j in range(4):
                block = x[b, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]  # [C, p, q]
                torch.testing.assert_close(patches[b, 4 * i + j], block.permute(1, 2, 0).reshape(-1))
    assert torch.equal(model.unpatchify(patches), x)


def test_sincos_positions_match_the_formula():
    pos = sincos_positions_2d(8, 3)
    assert pos.shape == (9, 8)
    for index in range(9):
        row, col = divmod(index, 3)
        expected = []
        for p in (row, col):
            w = [1 / 10000 ** (k / 2) for k in range(2)]
            expected += [math.sin(p * wk) for wk in w] + [math.cos(p * wk) for wk in w]
        torch.testing.assert_close(pos[index], torch.tensor(expected))


def test_attention_matches_an_explicit_softmax():
    torch.manual_seed(1)
    attn = Attention(8, heads=2)
    x = torch.randn(2, 5, 8)
    q, k, v = attn.qkv(x).split(8, dim=-1)
    heads = []
    for h in range(2):
        s = slice(4 * h, 4 * h + 4)
        weights = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / 2.0, dim=-1)
        heads.append(weights @ v[..., s])
    torch.testing.assert_close(attn(x), attn.proj(torch.cat(heads, dim=-1)), rtol=1e-5, atol=1e-6)


def test_forward_tokens_keep_selects_positioned_patches_and_is_order_equivariant():
    model = tiny().eval()
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        full = model.forward_tokens(x)
        assert full.shape == (2, 17, 16)
        everything = torch.arange(16).expand(2, 16)
        torch.testing.assert_close(model.forward_tokens(x, everything), full)
        keep = torch.tensor([[3, 0, 9, 15], [1, 2, 3, 4]])
        kept = model.forward_tokens(x, keep)
        assert kept.shape == (2, 5, 16)
        shuffled = model.forward_tokens(x, keep[:, [2, 0, 3, 1]])
        torch.testing.assert_close(shuffled[:, 1:], kept[:, 1:][:, [2, 0, 3, 1]], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(shuffled[:, 0], kept[:, 0], rtol=1e-5, atol=1e-6)
        # positions are added before selection: identical pixels at two places encode differently
        flat = torch.full((1, 3, 8, 8), 0.5)
        at_0, at_5 = model.forward_tokens(flat, torch.tensor([[0]])), model.forward_tokens(flat, torch.tensor([[5]]))
        assert not torch.allclose(at_0[:, 1], at_5[:, 1])
        torch.testing.assert_close(model(x), full[:, 0])
        torch.testing.assert_close(model(x[:1]), model(x)[:1], rtol=1e-5, atol=1e-6)


def test_vit_trains_one_step():
    model = tiny()
    out = model(torch.rand(4, 3, 8, 8))
    out.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
