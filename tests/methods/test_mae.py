"""MAE: exact per-image masks, the loss against a per-image per-patch loop, no information from hidden patches, learning on digits."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.mae import MAE, MAEConfig, masked_patch_loss
from molssl.views import get_views
from tests.methods.images import TINY_RESNET, TINY_VIT, generator, mean, mnist_batch, train

SMALL = dict(decoder_dim=16, decoder_depth=1, decoder_heads=2)


def naive_masked_patch_loss(prediction, patches, mask, norm_pix: bool) -> float:
    total, count = 0.0, 0
    for b in range(patches.size(0)):
        for p in range(patches.size(1)):
            if not mask[b, p]:
                continue
            target = patches[b, p].double()
            if norm_pix:
                mu = target.mean()
                var = ((target - mu) ** 2).sum() / (target.numel() - 1)
                target = (target - mu) / (var + 1e-6).sqrt()
            total += float(((prediction[b, p].double() - target) ** 2).mean())
            count += 1
    return total / count


def test_mask_hides_exactly_the_ratio_in_every_image():
    method = MAE(TINY_VIT, MAEConfig(**SMALL, mask_ratio=0.75))
    mask, keep = method.mask(6, generator(0), torch.device("cpu"))
    assert mask.shape == (6, 16) and mask.sum(dim=1).tolist() == [12] * 6
    assert keep.shape == (6, 4)
    for row in range(6):
        assert keep[row].tolist() == sorted(torch.nonzero(~mask[row]).flatten().tolist())
    assert len({tuple(r) for r in keep.tolist()}) > 1  # images get different masks


@pytest.mark.parametrize("norm_pix", [True, False])
def test_loss_matches_a_per_patch_loop(norm_pix):
    torch.manual_seed(0)
    method = MAE(TINY_VIT, MAEConfig(**SMALL, norm_pix_loss=norm_pix)).train()
    batch = mnist_batch(5)
    output = method(batch, generator(7))
    with torch.no_grad():  # the same draws in the same order: the views, then the mask
        g = generator(7)
        images = get_views("image", "mae")(batch, g)[0]
        mask, keep = method.mask(5, g, images.device)
        prediction = method.decoder(method.encoder.forward_tokens(images, keep), keep, mask)
        patches = method.encoder.patchify(images)
    assert output.loss.item() == pytest.approx(naive_masked_patch_loss(prediction, patches, mask, norm_pix), rel=1e-5)
    value = masked_patch_loss(prediction, patches, mask, norm_pix)
    assert value.item() == pytest.approx(output.loss.item(), rel=1e-6)


def test_hidden_patches_do_not_reach_the_prediction():
    torch.manual_seed(0)
    method = MAE(TINY_VIT, MAEConfig(**SMALL)).eval()
    images = mnist_batch(3).images
    mask, keep = method.mask(3, generator(1), images.device)
    changed = method.encoder.patchify(images)
    changed[mask] = torch.rand_like(changed[mask])  # new pixels in every hidden patch
    changed = method.encoder.unpatchify(changed)
    with torch.no_grad():
        a = method.decoder(method.encoder.forward_tokens(images, keep), keep, mask)
        b = method.decoder(method.encoder.forward_tokens(changed, keep), keep, mask)
    assert not torch.equal(images, changed)
    torch.testing.assert_close(a, b)


def test_an_encoder_without_the_token_api_is_refused():
    with pytest.raises(ValueError, match="mae needs an encoder with the masked-token API.*ResNet lacks"):
        MAE(TINY_RESNET, MAEConfig(**SMALL))


@pytest.mark.parametrize("options, match", [({"mask_ratio": 1.0}, "mask_ratio"), ({"decoder_dim": 18}, "multiple"),
                                            ({"norm_pix_loss": 1}, "bool")])  # fmt: skip
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        MAEConfig(**{**SMALL, **options})


def test_defaults_are_the_papers():
    c = MAEConfig()
    assert (c.mask_ratio, c.norm_pix_loss, c.decoder_dim, c.decoder_depth, c.decoder_heads) == (0.75, True, 512, 8, 16)


def test_loss_decreases_on_digits():
    torch.manual_seed(0)
    method = MAE(TINY_VIT, MAEConfig(decoder_dim=32, decoder_depth=1, decoder_heads=2))
    losses = train(method, steps=40, batch_size=32, lr=2e-3)
    assert mean(losses[-8:]) < 0.85 * mean(losses[:8]), (losses[:8], losses[-8:])
