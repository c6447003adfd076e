import numpy as np
import pytest
import torch

from molssl.vision.depict import depict, depict_one


def test_depictions_are_real_drawings_cached_by_content(tmp_path):
    smiles = ["CC(=O)Nc1ccc(O)cc1", "C[N+](C)(C)C.[Cl-]", "c1ccccc1"]
    images = depict(smiles, 48, cache=tmp_path)
    assert images.shape == (3, 1, 48, 48) and images.dtype == torch.uint8
    # black bonds on white: mostly white, some dark pixels, and different molecules look different
    assert (images > 250).float().mean() > 0.6 and bool((images < 100).flatten(1).any(1).all())
    assert not torch.equal(images[0], images[2])
    cached = list(tmp_path.glob("*.npy"))
    assert len(cached) == 1
    np.save(cached[0], np.zeros((3, 1, 48, 48), dtype=np.uint8))  # the cache is what is read back
    assert int(depict(smiles, 48, cache=tmp_path).sum()) == 0
    assert depict(smiles[:2], 48, cache=tmp_path).sum() > 0  # another set has another key
    rgb = depict_one("c1ccncc1", 32, color=True)
    assert rgb.shape == (3, 32, 32) and (rgb[0] != rgb[2]).any()  # the nitrogen is blue
