"""Fetch Fashion-MNIST (70,000 images, 10 classes) for the image benchmarks, out of Debian's package.

Fashion-MNIST (Xiao, Rasul & Vollgraf, arXiv:1708.07747, 2017; MIT licence, Zalando Research) is shipped by
Debian as ``dataset-fashion-mnist`` (version 0.0~git20200523.55506a9-1, the upstream repository's IDX files
under ``/usr/share/datasets/fashion-mnist``). This script downloads that ``.deb`` with ``apt-get download``
(nothing is installed), checks its sha256, extracts it with ``dpkg-deb -x``, checks the sha256 of each of the
four IDX files and their sizes (60,000 train and 10,000 test images of 28x28, 6,000 / 1,000 per class), and
copies them to ``benchmarks/_work/fashion-mnist/`` (git-ignored). It is a benchmark-only data set: the package
and its tests never need it. An existing, verified copy is left alone, so the script can be rerun.

Run:
    python benchmarks/get_fashion_mnist.py [--deb PATH/dataset-fashion-mnist_*.deb] [--out DIR]

then e.g. ``python benchmarks/vision_probe.py --data fashion --fashion-dir benchmarks/_work/fashion-mnist``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "_work" / "fashion-mnist"
PACKAGE = "dataset-fashion-mnist=0.0~git20200523.55506a9-1"
DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
MEMBER_DIR = Path("usr/share/datasets/fashion-mnist")
#: sha256 of the gzip-compressed IDX files as the package ships them, and the items each holds
FILES = {
    "train-images-idx3-ubyte.gz": ("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", 60_000),
    "train-labels-idx1-ubyte.gz": ("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", 60_000),
    "t10k-images-idx3-ubyte.gz": ("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", 10_000),
    "t10k-labels-idx1-ubyte.gz": ("8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", 10_000),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(directory: Path) -> bool:
    """Whether ``directory`` holds the four files with their recorded checksums."""
    return all((directory / name).is_file() and sha256(directory / name) == digest for name, (digest, _) in FILES.items())


def check_contents(directory: Path) -> None:
    """Check the shapes and the class balance of the IDX files (through molssl's IDX reader)."""
    import numpy as np

    from molssl.vision.data import read_idx

    for split in ("train", "t10k"):
        images = read_idx(directory / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(directory / f"{split}-labels-idx1-ubyte.gz")
        count = FILES[f"{split}-images-idx3-ubyte.gz"][1]
        if images.shape != (count, 28, 28) or labels.shape != (count,):
            raise SystemExit(f"{directory}/{split}: images {images.shape} and labels {labels.shape}, expected "
                             f"({count}, 28, 28) and ({count},)")  # fmt: skip
        per_class = np.bincount(labels, minlength=10)
        if per_class.tolist() != [count // 10] * 10:
            raise SystemExit(f"{directory}/{split}: {per_class.tolist()} images per class, expected {count // 10} each")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deb", type=Path, help="an already downloaded dataset-fashion-mnist .deb")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if verified(args.out):
        check_contents(args.out)
        print(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        deb = args.deb
        if deb is None:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True)
            deb = next(Path(tmp).glob("dataset-fashion-mnist_*.deb"))
        digest = sha256(deb)
        if digest != DEB_SHA256:
            raise SystemExit(f"{deb}: sha256 {digest}, expected {DEB_SHA256} ({PACKAGE})")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, (expected, _) in FILES.items():
            member = Path(tmp) / "x" / MEMBER_DIR / name
            if not member.is_file():
                raise SystemExit(f"{deb}: {MEMBER_DIR / name} is missing")
            if sha256(member) != expected:
                raise SystemExit(f"{deb}: {MEMBER_DIR / name} has sha256 {sha256(member)}, expected {expected}")
            shutil.copyfile(member, args.out / name)
    check_contents(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
