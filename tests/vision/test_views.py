import pytest
import torch

from molssl.views import get_views, make_views, view_recipes
from molssl.vision import augment as A
from molssl.vision.batch import ImageBatch

MNIST_NORM = ((0.1307,), (0.3081,))
OFF = {"crop_scale": (1.0, 1.0), "flip_p": 0.0, "jitter_p": 0.0, "gray_p": 0.0}


def digits(n=6):
    return ImageBatch(torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)), None, *MNIST_NORM)


def test_image_recipes_are_registered():
    assert {"simclr", "byol", "multicrop", "mae"} <= set(view_recipes("image"))


def test_simclr_views_are_two_normalized_random_views():
    batch = digits()
    a = make_views(batch, torch.Generator().manual_seed(1), "simclr")
    b = make_views(batch, torch.Generator().manual_seed(1), "simclr")
    assert len(a) == 2 and a[0].shape == (6, 1, 28, 28)
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and not torch.equal(a[0], a[1])
    # with every random transform off, a view is the normalized image
    plain = get_views("image", "simclr")(batch, torch.Generator(), blur_p=0.0, **OFF)
    torch.testing.assert_close(plain[0], (batch.images - 0.1307) / 0.3081)
    size = get_views("image", "simclr")(batch, torch.Generator(), size=16)
    assert size[1].shape == (6, 1, 16, 16)


def test_byol_views_are_asymmetric():
    batch = digits()
    first, second = get_views("image", "byol")(batch, torch.Generator().manual_seed(0), solarize_p=(0.0, 1.0), **OFF)
    x = batch.images
    # the first view is always blurred and never solarized, the second always solarized
    first, second = first * 0.3081 + 0.1307, second * 0.3081 + 0.1307

    def roughness(images):  # total variation per image
        return (images.diff(dim=-1).abs().sum((1, 2, 3)) + images.diff(dim=-2).abs().sum((1, 2, 3)))

    assert bool((roughness(first) < 0.8 * roughness(x)).all())  # blurred
    torch.testing.assert_close(first.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.02, rtol=0)  # not inverted
    assert bool((second <= 0.5 + 1e-5).all()) and bool((x > 0.6).any())  # solarized: every pixel now <= 0.5


def test_multicrop_gives_two_global_then_local_views():
    views = make_views(digits(), torch.Generator().manual_seed(0), "multicrop", {"n_local": 3})
    assert [tuple(v.shape) for v in views] == [(6, 1, 28, 28)] * 2 + [(6, 1, 12, 12)] * 3
    with pytest.raises(ValueError, match="global_scale"):
        make_views(digits(), torch.Generator(), "multicrop", {"crop_scale": (0.2, 1.0)})


def test_mae_view_is_one_crop_and_flip_without_color_changes():
    batch = digits()
    views = make_views(batch, torch.Generator().manual_seed(1), "mae")
    assert len(views) == 1 and views[0].shape == (6, 1, 28, 28)
    again = make_views(batch, torch.Generator().manual_seed(1), "mae")
    assert torch.equal(views[0], again[0])
    # the same crop boxes and flips as the crop transform alone: nothing else touches the pixels
    direct = A.random_resized_crop(batch.images, torch.Generator().manual_seed(1), 28, scale=(0.2, 1.0), flip_p=0.5)
    torch.testing.assert_close(views[0], (direct - 0.1307) / 0.3081)
    whole = get_views("image", "mae")(batch, torch.Generator(), crop_scale=(1.0, 1.0), flip_p=1.0)[0]
    torch.testing.assert_close(whole, (batch.images.flip(-1) - 0.1307) / 0.3081)
    assert get_views("image", "mae")(batch, torch.Generator(), size=16)[0].shape == (6, 1, 16, 16)


def test_views_refuse_other_batches():
    with pytest.raises(TypeError, match="ImageBatch"):
        get_views("image", "simclr")(torch.rand(2, 1, 4, 4), torch.Generator())


@pytest.mark.gpu
@pytest.mark.parametrize("recipe", ["simclr", "byol", "multicrop"])
def test_views_on_the_gpu_equal_the_cpu_views(recipe):
    # parameters are drawn on the generator's device (the CPU here), so a seed gives the same views anywhere;
    # the GPU path computes every row and selects with torch.where instead of indexing the chosen rows
    batch = ImageBatch(torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(0)), None,
                       (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))  # fmt: skip
    cpu = make_views(batch, torch.Generator().manual_seed(1), recipe, {"rotation": 15.0})
    gpu = make_views(batch.to("cuda"), torch.Generator().manual_seed(1), recipe, {"rotation": 15.0})
    for a, b in zip(cpu, gpu):
        torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-4)
