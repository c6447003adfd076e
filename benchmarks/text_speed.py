"""Pretraining throughput of the SMILES transformer: tokens/s and molecules/s of MLM and randomized-SMILES contrastive.

One optimizer step = the source's batch construction (tokenization; RDKit randomization for the
contrastive views), the method's forward (masking or two views) and backward, and an Adam update, on
batches of ``--batch`` molecules of the embedded MOSES sample, per size preset and precision (fp32,
bf16 autocast). After ``--warmup`` steps, ``--steps`` steps are timed in wall and process-CPU seconds
(CPU time is the fair measure on a shared machine); tokens counts the real (non-padding) tokens fed to
the encoder, so a contrastive step counts both views. The data-side share (batch construction alone)
is timed separately. Rows go to ``results/text_speed.jsonl``.

Run:
    python benchmarks/text_speed.py --sizes tiny --precisions fp32 bf16 --steps 5     # the recorded CPU slice
    python benchmarks/text_speed.py --sizes small chemberta --device cuda --steps 50  # on a GPU
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows  # noqa: E402

METHODS = ("mlm", "smiles_contrastive")


def measure(method_name: str, size: str, precision: str, args: argparse.Namespace, smiles: list[str]) -> dict:
    import torch

    from molssl.methods import get_method
    from molssl.text.data import SmilesSource
    from molssl.text.default_vocabulary import default_tokenizer
    from molssl.text.encoder import SmilesTransformerConfig

    torch.manual_seed(0)
    method_cls = get_method(method_name)
    source, _ = method_cls.prepare_data(SmilesSource(smiles, default_tokenizer(), check=False), {})
    device = torch.device(args.device)
    model = method_cls(SmilesTransformerConfig.preset(size), None).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step(i: int) -> int:
        g = torch.Generator().manual_seed(i)
        batch = source.batch(torch.randint(0, len(source), (args.batch,), generator=g), g).to(device)
        with autocast:
            out = model(batch, torch.Generator(device=device).manual_seed(i))
        optimizer.zero_grad()
        out.loss.float().backward()
        optimizer.step()
        return int(batch.attention_mask.sum())

    for i in range(args.warmup):
        step(i)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    tokens = sum(step(args.warmup + i) for i in range(args.steps))
    sync()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    data_cpu = time.process_time()
    for i in range(args.steps):
        g = torch.Generator().manual_seed(i)
        source.batch(torch.randint(0, len(source), (args.batch,), generator=g), g)
    data_cpu = time.process_time() - data_cpu
    molecules = args.steps * args.batch
    return {"method": method_name, "size": size, "precision": precision, "batch": args.batch, "steps": args.steps,
            "device": str(device), "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in model.encoder.parameters()),
            "tokens_per_s_wall": tokens / wall, "tokens_per_s_cpu": tokens / cpu, "molecules_per_s_wall": molecules / wall,
            "molecules_per_s_cpu": molecules / cpu, "data_share_cpu": data_cpu / cpu}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--sizes", nargs="+", default=["tiny"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--molecules", type=int, default=5000, help="MOSES molecules to draw batches from")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import gzip

    import torch

    from molssl.data.embedded import default_corpus

    torch.set_num_threads(args.threads)
    with gzip.open(default_corpus(), "rt") as handle:
        smiles = [line.split()[0] for line in handle.read().splitlines()[1 : args.molecules + 1]]
    command = "python benchmarks/text_speed.py " + shlex.join(sys.argv[1:])
    for size in args.sizes:
        for method in args.methods:
            for precision in args.precisions:  # the precisions of one model back to back: same machine load
                row = measure(method, size, precision, args, smiles)
                append_rows("text_speed", [row], command)
                print(row, flush=True)


if __name__ == "__main__":
    main()
