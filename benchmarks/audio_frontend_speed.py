"""Clips/s of the batched audio front-end (log-mel spectrograms, and the "byola"/"specaugment" views) vs one clip at a time.

Both sides run the same code on the same real recordings (the embedded FSDD clips, 1.04 s windows at 8 kHz):
the batched side turns the whole ``[B, T]`` batch into spectrograms or views at once, the baseline loops over the
clips and handles each as a batch of one (what a per-clip Dataset transform does). Stages: ``logmel`` (STFT,
mel filterbank, log, normalization: ``AudioBatch.normalized``), ``byola`` and ``specaugment`` (two views each, from
the waveforms). A batch of one has no other clip to mix with, so the per-clip "byola" skips mixup's arithmetic:
the baseline does slightly less work. Rounds interleave the two sides; we report medians of clips/s (wall and CPU
time) and the median per-round ratio.

    python benchmarks/audio_frontend_speed.py [--batch 256] [--rounds 5] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import append_rows  # noqa: E402

from molssl.audio.batch import AudioBatch  # noqa: E402
from molssl.audio.data import open_audio_source  # noqa: E402
from molssl.views import get_views  # noqa: E402

STAGES = ("logmel", "byola", "specaugment")


def stage_fn(stage: str):
    """``fn(batch, generator)`` running one stage of the front-end."""
    if stage == "logmel":
        return lambda batch, generator: batch.normalized()
    return get_views("audio", stage)


def clock(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``."""
    start = (time.perf_counter(), time.process_time())
    fn()
    return time.perf_counter() - start[0], time.process_time() - start[1]


def measure(stage: str, batch: AudioBatch, rounds: int, sync) -> dict:
    """Both sides of one stage, interleaved over ``rounds``."""
    run = stage_fn(stage)
    singles = [AudioBatch(batch.waveforms[i : i + 1], batch.lengths[i : i + 1], batch.logmel, None, batch.mean, batch.std)
               for i in range(len(batch))]  # fmt: skip

    def batched() -> None:
        run(batch, torch.Generator().manual_seed(0))
        sync()

    def per_clip() -> None:
        generator = torch.Generator().manual_seed(0)
        for single in singles:
            run(single, generator)
        sync()

    batched(), per_clip()  # warm-up
    times = {"batched": [], "per_clip": []}
    for _ in range(rounds):
        times["batched"].append(clock(batched))
        times["per_clip"].append(clock(per_clip))
    n = len(batch)
    out = {f"{side}_clips_per_s": statistics.median(n / w for w, _ in times[side]) for side in times}
    out |= {f"{side}_clips_per_cpu_s": statistics.median(n / max(c, 1e-9) for _, c in times[side]) for side in times}
    out["ratio_per_round"] = [round(p[0] / b[0], 2) for b, p in zip(times["batched"], times["per_clip"])]
    out["ratio_median"] = statistics.median(out["ratio_per_round"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES, help="what to time")
    parser.add_argument("--batch", type=int, default=256, help="clips per batch (FSDD clips spread over the set)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of both sides")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-record", action="store_true", help="print only; append no row")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    source = open_audio_source()
    batch = source.batch(torch.arange(0, len(source), len(source) // args.batch)[: args.batch]).to(device)
    command = "python benchmarks/audio_frontend_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for stage in args.stages:
        row = {"what": "audio front-end clips per second", "data": "fsdd", "stage": stage, "batch": len(batch),
               "samples": batch.waveforms.size(1), "spectrogram": [batch.logmel.n_mels, batch.frames],
               "device": str(device), "threads": args.threads, "rounds": args.rounds,
               **measure(stage, batch, args.rounds, sync), "load_average": list(os.getloadavg())}  # fmt: skip
        print(f"{stage:12s} batched {row['batched_clips_per_s']:9.0f} clips/s  per-clip {row['per_clip_clips_per_s']:7.0f} "
              f"clips/s  ratio {row['ratio_median']:.1f}x (rounds {row['ratio_per_round']})")  # fmt: skip
        if not args.no_record:
            append_rows("audio_frontend_speed", [row], command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
