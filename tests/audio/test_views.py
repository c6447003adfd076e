"""The audio view recipes: registered, two normalized views, the documented composition, seeded."""

from __future__ import annotations

import pytest
import torch

from molssl.audio import augment as A
from molssl.views import get_views, view_recipes
from tests.audio.conftest import generator


def test_audio_recipes_are_registered():
    assert {"byola", "specaugment"} <= set(view_recipes("audio"))


def test_byola_views_are_mixup_then_normalize_then_crop(clips):
    views = get_views("audio", "byola")(clips, generator(1))
    assert len(views) == 2 and all(v.shape == (12, 1, 64, 64) for v in views)
    g = generator(1)
    clean = clips.spectrogram()
    for view in views:
        expected = A.random_resized_crop_spectrograms(clips.normalize(A.random_mixup(clean, g, 0.4)), g)
        torch.testing.assert_close(view, expected)
    assert not torch.equal(views[0], views[1])


def test_specaugment_views_mask_bands_and_change_the_gain(clips):
    plain = get_views("audio", "specaugment")(clips, generator(2), crop=False, gain_db=0.0, noise_p=0.0,
                                                time_masks=0)  # fmt: skip
    reference = clips.normalized()
    masked_rows = (plain[0] == 0).all(dim=3)  # [B, 1, M]: whole frequency bands at the mean
    assert masked_rows.any() and not (reference == 0).all(dim=3).any()
    louder = get_views("audio", "specaugment")(clips, generator(2), crop=False, noise_p=0.0, freq_masks=0, time_masks=0)
    shift = (louder[0] - reference).median(dim=3).values.median(dim=2).values.squeeze(1)  # [B] a constant per clip
    assert float(shift.abs().max()) > 0.05  # a gain is a shift of the log spectrum


def test_views_are_seeded_and_refuse_other_batches(clips):
    a = get_views("audio", "byola")(clips, generator(3))
    b = get_views("audio", "byola")(clips, generator(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(TypeError, match="AudioBatch"):
        get_views("audio", "byola")(torch.zeros(2, 100), generator())
