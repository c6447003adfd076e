"""Build datasets/fsdd/: the 3,000 recordings of the Free Spoken Digit Dataset as one compressed int16 array.

Source: the Free Spoken Digit Dataset (Z. Jackson et al., https://github.com/Jakobovski/free-spoken-digit-dataset,
CC BY-SA 4.0): 6 speakers x 10 digits x 50 takes, 8 kHz mono 16-bit PCM WAV files named
``{digit}_{speaker}_{take}.wav``. Every file is read with the standard library's ``wave``
(``molssl.audio.wav.read_pcm``) and must be 8 kHz, mono, 16-bit; the samples are kept exactly (no resampling,
trimming or normalization).

Output (see README.md):
- ``fsdd_samples.npy.xz``: all samples, int16, concatenated in the index's order, as a ``.npy`` array compressed
  with xz (preset 9 extreme; the recordings compress to 64% of their size, better than gzip's 73%);
- ``fsdd_index.csv``: one row per recording: digit, speaker, take, offset and length in the array, sha256 of the
  original WAV file;
- ``fsdd_speakers.json``: the dataset's speaker metadata (accent, gender, language), copied;
- ``fsdd.json``: the record (counts, checksums) this script prints.

Usage (from the repository root)::

    python datasets/fsdd/prepare.py PATH/TO/free-spoken-digit-dataset   # the folder holding recordings/
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import lzma
import re
import shutil
from pathlib import Path

import numpy as np

from molssl.audio.wav import read_pcm

HERE = Path(__file__).resolve().parent
NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
SAMPLES, INDEX, SPEAKERS, RECORD = "fsdd_samples.npy.xz", "fsdd_index.csv", "fsdd_speakers.json", "fsdd.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the dataset folder (holding recordings/ and speakers.json)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    files = sorted((args.source / "recordings").glob("*.wav"))
    rows, clips, offset = [], [], 0
    for path in files:
        match = NAME.match(path.name)
        if match is None:
            raise SystemExit(f"{path}: not named {{digit}}_{{speaker}}_{{take}}.wav")
        samples, rate, width = read_pcm(path)
        if (rate, samples.shape[1], width) != (8000, 1, 2):
            raise SystemExit(f"{path}: {rate} Hz, {samples.shape[1]} channels, {8 * width}-bit; FSDD is 8 kHz mono 16-bit")
        digit, speaker, take = int(match[1]), match[2], int(match[3])
        rows.append((digit, speaker, take, offset, len(samples), sha256(path.read_bytes())))
        clips.append(samples[:, 0])
        offset += len(samples)
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], rows[i][0], rows[i][2]))  # speaker, digit, take
    array = np.concatenate([clips[i] for i in order]).astype("<i2")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    raw = buffer.getvalue()
    compressed = lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / SAMPLES).write_bytes(compressed)
    with open(args.out / INDEX, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["digit", "speaker", "take", "offset", "samples", "wav_sha256"])
        position = 0
        for i in order:
            digit, speaker, take, _, length, digest = rows[i]
            writer.writerow([digit, speaker, take, position, length, digest])
            position += length
    shutil.copyfile(args.source / "speakers.json", args.out / SPEAKERS)
    lengths = np.array([r[4] for r in rows])
    record = {
        "recordings": len(rows),
        "speakers": sorted({r[1] for r in rows}),
        "digits": sorted({r[0] for r in rows}),
        "takes": [min(r[2] for r in rows), max(r[2] for r in rows)],
        "sample_rate": 8000,
        "samples": int(lengths.sum()),
        "clip_samples": {"min": int(lengths.min()), "median": float(np.median(lengths)), "max": int(lengths.max())},
        "sha256": {
            SAMPLES: sha256(compressed),
            SAMPLES.removesuffix(".xz") + " (uncompressed)": sha256(raw),
            INDEX: sha256((args.out / INDEX).read_bytes()),
            SPEAKERS: sha256((args.out / SPEAKERS).read_bytes()),
        },
        "bytes": {SAMPLES: len(compressed), "uncompressed": len(raw)},
    }
    (args.out / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
