"""Where the small embedded datasets live, and the one way to reach them: ``embedded_file``.

The data, its dataset cards and the scripts that made it are kept once, in ``datasets/`` of the
repository. An installed wheel carries the part the default commands read (``datasets/wheel_files.txt``)
inside the package, in ``molssl/_embedded/`` (copied there by the wheel build, ``setup.py``). A file is
looked up, in this order, in:

1. ``$MOLSSL_DATA`` (a folder laid out like ``datasets/``), when set;
2. ``molssl/_embedded/`` (an installed wheel);
3. ``datasets/`` beside the package (a source checkout or an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "MOLSSL_DATA"
# molssl/data/embedded.py -> molssl/_embedded (the wheel's copy)
PACKAGE_DATASETS = Path(__file__).resolve().parents[1] / "_embedded"
# molssl/data/embedded.py -> repository root (a source checkout or an editable install)
REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"
#: the list, in ``datasets/``, of the files a wheel carries
WHEEL_MANIFEST = "wheel_files.txt"


def _roots() -> list[Path]:
    """The places embedded files are looked for, in lookup order."""
    env = os.environ.get(DATA_ENV_VAR)
    return ([Path(env)] if env else []) + [PACKAGE_DATASETS, REPO_DATASETS]


def shipped_dirs(folder: str) -> list[Path]:
    """The copies of embedded ``folder`` (e.g. ``"moleculenet"``) that ship with molssl and exist here."""
    return [root / folder for root in (PACKAGE_DATASETS, REPO_DATASETS) if (root / folder).is_dir()]


def embedded_file(relative: str) -> Path:
    """Path of an embedded data file such as ``moses/moses_50k.smi.gz``.

    Raises:
        FileNotFoundError: naming every place looked in and how to provide the file.
    """
    candidates = [root / relative for root in _roots()]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        f"embedded data file {relative!r} not found (looked in: {looked}); an installed wheel carries only the "
        f"files of datasets/{WHEEL_MANIFEST}: use a source checkout of molssl or set {DATA_ENV_VAR} to a copy of "
        f"its datasets/ directory"
    )


def wheel_files(datasets: Path = REPO_DATASETS) -> list[str]:
    """The files under ``datasets`` that a wheel carries (``datasets/wheel_files.txt``, patterns expanded), sorted.

    Raises:
        FileNotFoundError: a line of the list matches no file (naming the line).
    """
    out: set[str] = set()
    manifest = datasets / WHEEL_MANIFEST
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        found = [p.relative_to(datasets).as_posix() for p in datasets.glob(pattern) if p.is_file()]
        if not found:
            raise FileNotFoundError(f"{manifest}, line {number}: {pattern!r} matches no file")
        out.update(found)
    return sorted(out)


def default_corpus() -> Path:
    """The embedded unlabeled corpus: 50,000 molecules sampled from MOSES (see datasets/moses)."""
    return embedded_file("moses/moses_50k.smi.gz")
