"""The ``molssl`` entry point: logging that stays out of the progress bars."""

from __future__ import annotations

import logging

from molssl.cli.main import main


def test_matplotlib_info_lines_are_off_unless_verbose(capsys):
    noisy = logging.getLogger("matplotlib")
    noisy.setLevel(logging.NOTSET)
    assert main(["datasets"]) == 0
    assert not noisy.isEnabledFor(logging.INFO) and noisy.isEnabledFor(logging.WARNING)
    assert main(["-v", "datasets"]) == 0
    capsys.readouterr()
    assert main(["datasets"]) == 0  # back to quiet without -v
    assert not noisy.isEnabledFor(logging.INFO)
