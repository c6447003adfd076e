"""molssl.ssl.checks.check_fraction: the one check of a rate, ratio or share (open or half-open at 0)."""

from __future__ import annotations

import pytest

from molssl.ssl.checks import check_fraction


@pytest.mark.parametrize("value", [0.5, 1e-9, 0.999, 1])
def test_check_fraction_open_interval(value):
    if value == 1:
        with pytest.raises(ValueError, match=r"^mask_rate must be a number in \(0, 1\), got 1$"):
            check_fraction("mask_rate", value)
    else:
        assert check_fraction("mask_rate", value) == value and isinstance(check_fraction("mask_rate", value), float)


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, True, "0.2", None, float("nan")])
def test_check_fraction_refuses_zero_unless_half_open(bad):
    with pytest.raises(ValueError, match=r"must be a number in \(0, 1\)"):
        check_fraction("mask_rate", bad)
    if bad == 0 and not isinstance(bad, bool):
        assert check_fraction("ratio", bad, low_open=False) == 0.0
    else:
        with pytest.raises(ValueError, match=r"must be a number in \[0, 1\)"):
            check_fraction("ratio", bad, low_open=False)
