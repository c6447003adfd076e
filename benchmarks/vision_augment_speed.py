"""Images/s of molssl's batched image augmentations vs the same augmentations applied one image at a time.

Both sides run the same view recipe (``molssl.vision.views``: "simclr", "byol", "multicrop") with the same
transforms; the batched side augments the whole [B, C, H, W] batch at once, the baseline loops over the
images and augments each as a batch of one (what a per-image Dataset transform does). Rounds interleave the
two; we report medians of images/s (wall and CPU time) and the per-round ratio. Data: real MNIST digits
(28x28, 1 channel) and RDKit depictions of MOSES molecules (RGB, 64x64) (issue 18 target: >= 5x on CPU).

    python benchmarks/vision_augment_speed.py [--batch 256] [--rounds 5] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import append_rows  # noqa: E402

from molssl.views import get_views  # noqa: E402
from molssl.vision.batch import ImageBatch  # noqa: E402
from molssl.vision.data import open_image_source  # noqa: E402


def digits(n: int) -> ImageBatch:
    return open_image_source().batch(torch.arange(0, 5000, 5000 // n)[:n])


def depictions(n: int) -> ImageBatch:
    from molssl.data.corpus import read_smiles_file
    from molssl.data.embedded import default_corpus
    from molssl.vision.data import ImageSource
    from molssl.vision.depict import depict

    smiles = read_smiles_file(default_corpus()).smiles[:n]
    return ImageSource(depict(smiles, 64, color=True)).batch(torch.arange(n))


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--recipes", nargs="+", default=["simclr", "byol", "multicrop"])
    parser.add_argument("--data", nargs="+", default=["mnist", "depictions"])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    command = "python benchmarks/vision_augment_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = []
    for data in args.data:
        batch = (digits if data == "mnist" else depictions)(args.batch).to(device)
        singles = [ImageBatch(batch.images[i : i + 1], None, batch.mean, batch.std) for i in range(len(batch))]
        for recipe in args.recipes:
            make = get_views("image", recipe)
            options = {"n_local": 6} if recipe == "multicrop" else {}

            def batched() -> None:
                make(batch, torch.Generator().manual_seed(0), **options)
                sync()

            def per_image() -> None:
                generator = torch.Generator().manual_seed(0)
                for single in singles:
                    make(single, generator, **options)
                sync()

            batched()  # warm-up (kernels, allocator)
            per_image()
            results: dict[str, list[tuple[float, float]]] = {"batched": [], "per_image": []}
            for _ in range(args.rounds):
                results["batched"].append(timed(batched))
                results["per_image"].append(timed(per_image))
            n = len(batch)
            row = {
                "what": "image views per second", "data": data, "recipe": recipe, "views": 2 + options.get("n_local", 0),
                "batch": n, "image_shape": list(batch.images.shape[1:]), "device": str(device), "threads": args.threads,
                "rounds": args.rounds,
                "batched_images_per_s": statistics.median(n / w for w, _ in results["batched"]),
                "per_image_images_per_s": statistics.median(n / w for w, _ in results["per_image"]),
                "batched_images_per_cpu_s": statistics.median(n / max(c, 1e-9) for _, c in results["batched"]),
                "per_image_images_per_cpu_s": statistics.median(n / max(c, 1e-9) for _, c in results["per_image"]),
                "ratio_per_round": [round(p[0] / b[0], 2) for b, p in zip(results["batched"], results["per_image"])],
                "load_average": list(__import__("os").getloadavg()),
            }
            row["ratio_median"] = statistics.median(row["ratio_per_round"])
            print(f"{data:10s} {recipe:9s} batched {row['batched_images_per_s']:9.0f} img/s  per-image "
                  f"{row['per_image_images_per_s']:7.0f} img/s  ratio {row['ratio_median']:.1f}x "
                  f"(rounds {row['ratio_per_round']})")  # fmt: skip
            rows.append(row)
            if not args.no_record:  # row by row: a long run interrupted keeps what it measured
                append_rows("vision_augment_speed", [row], command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
