"""Size curriculum: the first steps draw the smallest molecules, the pool grows, then the plain loader's batches."""

from __future__ import annotations

import math

import numpy as np
import pytest

import molssl
from molssl.data.loader import StoreLoader
from molssl.data.size_curriculum import SizeCurriculumLoader, check_curriculum, competence
from tests.conftest import moleculenet_smiles

OPTIONS = {"batch_size": 16, "shuffle": True, "seed": 3, "drop_last": True}


@pytest.fixture(scope="module")
def graphs():
    return molssl.featurize_many(moleculenet_smiles("bbbp", 200), scheme="hu").graphs


def _epoch_batches(loader, epoch: int) -> list[np.ndarray]:
    loader.set_epoch(epoch)
    order = loader.order()
    return [order[b * loader.batch_size : (b + 1) * loader.batch_size] for b in range(len(loader))]


def test_competence_grows_from_the_start_share_to_everything():
    values = [competence(t, 100, 0.2) for t in range(0, 101, 10)]
    assert values[0] == pytest.approx(0.2) and values[-1] == 1.0
    assert all(a < b for a, b in zip(values, values[1:]))
    assert competence(50, 100, 0.2) == pytest.approx(math.sqrt(0.04 + 0.96 * 0.5))


def test_first_steps_draw_only_the_smallest_molecules_then_the_plain_loader(graphs):
    steps = 15  # 200 // 16 = 12 batches per epoch: the curriculum ends inside epoch 1
    loader = SizeCurriculumLoader(graphs, steps=steps, start=0.2, **OPTIONS)
    plain = StoreLoader(graphs, **OPTIONS)
    sizes = graphs.num_atoms
    ranked = np.sort(sizes)
    batches = _epoch_batches(loader, 0) + _epoch_batches(loader, 1)
    for step, batch in enumerate(batches[:steps]):
        pool = loader.pool_size(step)
        assert pool == max(math.ceil(competence(step, steps, 0.2) * 200), 16)
        assert len(set(batch.tolist())) == 16 and sizes[batch].max() <= ranked[pool - 1], step
    assert sizes[batches[0]].max() <= ranked[39]  # the first batch: from the 20% smallest
    assert sizes[batches[0]].mean() < sizes.mean() - 5
    plain_batches = _epoch_batches(plain, 0) + _epoch_batches(plain, 1)
    assert all(np.array_equal(a, b) for a, b in zip(batches[steps:], plain_batches[steps:]))
    assert not any(np.array_equal(a, b) for a, b in zip(batches[:steps], plain_batches[:steps]))


def test_draws_are_fixed_by_seed_and_step_so_resuming_mid_epoch_is_exact(graphs):
    loader = SizeCurriculumLoader(graphs, steps=30, **OPTIONS)
    again = SizeCurriculumLoader(graphs, steps=30, **OPTIONS)
    assert all(np.array_equal(a, b) for a, b in zip(_epoch_batches(loader, 1), _epoch_batches(again, 1)))
    loader.set_epoch(1)
    whole = [b.x for b in loader.batches()]
    resumed = [b.x for b in loader.batches(start=5)]
    assert len(resumed) == len(whole) - 5 and all((a == b).all() for a, b in zip(whole[5:], resumed))
    other_seed = SizeCurriculumLoader(graphs, steps=30, **{**OPTIONS, "seed": 4})
    assert not np.array_equal(_epoch_batches(other_seed, 0)[0], _epoch_batches(loader, 0)[0])


def test_ranks_share_each_global_draw(graphs):
    ranks = [SizeCurriculumLoader(graphs, steps=10, rank=r, world_size=2, **{**OPTIONS, "batch_size": 8}) for r in range(2)]
    single = SizeCurriculumLoader(graphs, steps=10, **OPTIONS)
    for step in range(3):
        parts = [set(_epoch_batches(loader, 0)[step].tolist()) for loader in ranks]
        assert not parts[0] & parts[1]  # no molecule twice in one global batch
        assert parts[0] | parts[1] == set(_epoch_batches(single, 0)[step].tolist())


def test_bad_options_are_refused(graphs):
    with pytest.raises(ValueError, match=r"size_curriculum must be in \[0, 1\]"):
        check_curriculum(1.5, 0.2)
    with pytest.raises(ValueError, match=r"curriculum_start must be in \(0, 1\]"):
        check_curriculum(0.5, 0.0)
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        SizeCurriculumLoader(graphs, steps=-1)
