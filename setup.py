"""Wheel build step: the embedded data the default commands read goes into the package.

Everything else is configured in pyproject.toml. The data, its dataset cards and prepare scripts live once,
in ``datasets/`` of the repository; ``datasets/wheel_files.txt`` lists what an installed wheel needs, and
``build_py`` copies those files to ``molssl/_embedded/`` of the build, where
``molssl.data.embedded.embedded_file`` finds them.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _embedded_module():
    """``molssl/data/embedded.py`` loaded by path (standard library only; the package is not imported)."""
    spec = importlib.util.spec_from_file_location("_molssl_embedded", ROOT / "molssl" / "data" / "embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithEmbeddedData(build_py):
    """``build_py``, then the files of ``datasets/wheel_files.txt`` into ``<build>/molssl/_embedded/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads datasets/ of the checkout itself
            return
        embedded = _embedded_module()
        target = Path(self.build_lib) / "molssl" / embedded.PACKAGE_DATASETS.name
        for relative in embedded.wheel_files(ROOT / "datasets"):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "datasets" / relative, destination)


setup(cmdclass={"build_py": BuildPyWithEmbeddedData})
