"""The vectorized RDKit pickle decoder's gate: its tests skip loudly where it is inactive, and fail in CI.

``molssl.chem.mol_pickle`` decodes only the pickle versions in ``SUPPORTED_VERSIONS``; with another RDKit
every molecule falls back to RDKit's accessors, so a test comparing the decoder with the reference would
compare the reference with itself. Such tests carry ``@pytest.mark.pickle_fast_path``:

* fast path active: they run;
* inactive, and ``MOLSSL_REQUIRE_FAST_PICKLE=1`` (set by ``.ci/run``): they fail, naming the RDKit and
  pickle versions, so CI never passes on a decoder it did not exercise;
* inactive otherwise: they skip, and the end of the run says why in one line.
"""

from __future__ import annotations

import os

import pytest
from rdkit import rdBase

from molssl.chem.mol_pickle import SUPPORTED_VERSIONS, installed_pickle_version, installed_version_supported

REQUIRE_ENV = "MOLSSL_REQUIRE_FAST_PICKLE"
_skipped: list[str] = []


def fast_path_inactive_reason() -> str:
    """Why the decoder does not run here (RDKit release, its pickle version, the supported ones)."""
    supported = ", ".join(".".join(map(str, v)) for v in sorted(SUPPORTED_VERSIONS)) or "none"
    version = ".".join(map(str, installed_pickle_version()))
    return (f"RDKit {rdBase.rdkitVersion} writes pickle version {version}; molssl.chem.mol_pickle decodes only "
            f"{supported}, so featurization runs RDKit's slower accessors and the decoder is not tested")  # fmt: skip


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("pickle_fast_path") is None or installed_version_supported():
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{fast_path_inactive_reason()} ({REQUIRE_ENV}=1: the fast path is required here)", pytrace=False)
    _skipped.append(item.nodeid)
    pytest.skip(fast_path_inactive_reason())


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001 (pytest hook signature)
    if _skipped:
        terminalreporter.write_sep("!", f"{len(_skipped)} pickle decoder tests skipped", yellow=True, bold=True)
        terminalreporter.write_line(fast_path_inactive_reason())
