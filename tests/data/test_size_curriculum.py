"""Size curriculum schedule: the competence grows from the start share to everything; bad options are refused.

The draws themselves are the pretraining loop's (``BatchOrder``, tests/pretrain/test_batch_order.py)."""

from __future__ import annotations

import math

import pytest

from molssl.data.size_curriculum import check_curriculum, competence


def test_competence_grows_from_the_start_share_to_everything():
    values = [competence(t, 100, 0.2) for t in range(0, 101, 10)]
    assert values[0] == pytest.approx(0.2) and values[-1] == 1.0
    assert all(a < b for a, b in zip(values, values[1:]))
    assert competence(50, 100, 0.2) == pytest.approx(math.sqrt(0.04 + 0.96 * 0.5))


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match=r"size_curriculum must be in \[0, 1\]"):
        check_curriculum(1.5, 0.2)
    with pytest.raises(ValueError, match=r"curriculum_start must be in \(0, 1\]"):
        check_curriculum(0.5, 0.0)
    with pytest.raises(ValueError, match="size_curriculum must be a number"):
        check_curriculum(True, 0.2)
