"""Build datasets/moses/moses_50k.smi.gz: 50,000 SMILES sampled from the MOSES training set.

Source: the PyPI wheel of ``molsets==0.3.1`` (Polykovskiy et al., "Molecular Sets (MOSES): A Benchmarking
Platform for Molecular Generation Models", Front. Pharmacol. 2020), member ``moses/dataset/data/train.csv.gz``
(header ``SMILES``, 1,584,663 molecules). Rows are sampled uniformly without replacement with
``numpy.random.default_rng(seed).choice(n, size, replace=False)`` and written in their source order.
The output is gzip-compressed with mtime 0 and no file name in the header, so the same zlib produces the
same bytes; the sha256 of the uncompressed text is recorded as well, which does not depend on zlib.

Usage (from the repository root)::

    python datasets/moses/prepare.py                     # pip-downloads the wheel into a temporary directory
    python datasets/moses/prepare.py --wheel molsets-0.3.1-py3-none-any.whl

Prints a JSON record (checksums, counts, seed) and writes it next to the output as ``moses_50k.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "molsets==0.3.1"
WHEEL_NAME = "molsets-0.3.1-py3-none-any.whl"
WHEEL_SHA256 = "7f4450e3ebecebe79c3a2a55950c93daddee071120daf64a163d03481e811d34"  # as listed on PyPI
MEMBER = "moses/dataset/data/train.csv.gz"
EXPECTED_ROWS = 1_584_663
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wheel_data import fetch_wheel, sha256_bytes, write_reproducible_gzip  # noqa: E402


def read_train_smiles(wheel: Path) -> tuple[list[str], str]:
    """Return the training SMILES from the wheel and the sha256 of the compressed member."""
    with zipfile.ZipFile(wheel) as archive:
        member = archive.read(MEMBER)
    lines = gzip.decompress(member).decode("utf-8").splitlines()
    if lines[0].strip() != "SMILES":
        raise SystemExit(f"{wheel}!{MEMBER}: expected the header 'SMILES', found {lines[0]!r}")
    smiles = [line.strip() for line in lines[1:]]
    if len(smiles) != EXPECTED_ROWS:
        raise SystemExit(f"{wheel}!{MEMBER}: expected {EXPECTED_ROWS} SMILES, found {len(smiles)}")
    return smiles, sha256_bytes(member)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_NAME}; pip-downloaded when omitted")
    parser.add_argument("--out", type=Path, default=HERE / "moses_50k.smi.gz", help="output file")
    parser.add_argument("--size", type=int, default=50_000, help="number of molecules to sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of numpy.random.default_rng")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel is not None else fetch_wheel(PACKAGE, WHEEL_NAME, Path(tmp))
        wheel_sha256 = sha256_bytes(wheel.read_bytes())
        if wheel_sha256 != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: sha256 {wheel_sha256} differs from PyPI's {WHEEL_SHA256}")
        smiles, member_sha256 = read_train_smiles(wheel)

    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(len(smiles), size=args.size, replace=False))
    text = "SMILES\n" + "".join(smiles[i] + "\n" for i in chosen)
    data = text.encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_reproducible_gzip(args.out, data)

    record = {
        "source": f"PyPI {PACKAGE}, {WHEEL_NAME}!{MEMBER}",
        "wheel_sha256": wheel_sha256,
        "member_sha256": member_sha256,
        "source_rows": len(smiles),
        "sampled_rows": int(args.size),
        "seed": args.seed,
        "sampling": "numpy.random.default_rng(seed).choice(source_rows, sampled_rows, replace=False), sorted",
        "output": args.out.name,
        "output_sha256": sha256_bytes(args.out.read_bytes()),
        "uncompressed_sha256": sha256_bytes(data),
    }
    args.out.with_suffix("").with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
