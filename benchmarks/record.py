"""Shared by the benchmark suites: environment facts and appending result rows.

Every result row carries what was measured, the numbers, and where/when/with what: date, machine,
CPU, Python and package versions, and the git commit.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from molssl.machine import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


def command_line() -> str:
    """This process's command as a shell line (``python script.py --option value``), recorded with its rows."""
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment() -> dict:
    """Where and with what a benchmark ran."""
    import numpy
    import rdkit
    import torch

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {cpu_model()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "rdkit": rdkit.__version__,
        "numpy": numpy.__version__,
        "commit": _commit(),
    }
    try:
        import torch_geometric
        import ogb

        env["torch_geometric"] = torch_geometric.__version__
        env["ogb"] = ogb.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def append_rows(suite: str, rows: list[dict], command: str) -> Path:
    """Append rows (each with the environment and command) to ``results/<suite>.jsonl``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{suite}.jsonl"
    env = environment()
    with open(path, "a") as fh:
        for row in rows:
            fh.write(json.dumps({"suite": suite, **row, "command": command, **env}) + "\n")
    return path


def recorded(suite: str) -> list[dict]:
    """Every row recorded so far in ``results/<suite>.jsonl`` (empty when there is none)."""
    path = RESULTS / f"{suite}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def todo_or_plan(runs: list[tuple], done: set[tuple], show_plan: bool) -> list[tuple] | None:
    """The runs of a resumable suite not recorded yet, in order; with ``show_plan`` print them and their
    count instead and return None (the caller's ``--plan``)."""
    todo = [r for r in runs if r not in done]
    if not show_plan:
        return todo
    for r in todo:
        print(*r)
    print(f"{len(todo)} runs to do ({len(runs) - len(todo)} of this plan recorded)")
    return None


def run_and_record(suite: str, run, todo: list[tuple], jobs: int, command: str, *extra) -> None:
    """``run(*task, *extra)`` for every task in ``jobs`` processes, appending each row as soon as it ends.

    A failed run is printed and left for the next invocation (a resumable suite skips recorded rows);
    the others go on.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run, *task, *extra): task for task in todo}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - reported, retried by the next invocation
                print(f"run {futures[future]} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            append_rows(suite, [row], command)
            print(json.dumps(row), flush=True)


def interleaved_epochs(kinds: tuple[str, ...], use, epoch, epochs: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Time contenders in alternation: ``epochs`` rounds, each calling ``use(kind)`` then ``epoch(number)`` per kind.

    ``epoch`` returns the seconds one epoch took; numbers run 0, 1, 2, ... across all calls (distinct shuffles).
    Returns every kind's seconds and their medians with the first (warm-up) epoch left out.
    """
    seconds: dict[str, list[float]] = {k: [] for k in kinds}
    for e in range(epochs):
        for i, kind in enumerate(kinds):
            use(kind)
            seconds[kind].append(epoch(len(kinds) * e + i))
    return seconds, {k: statistics.median(v[1:]) for k, v in seconds.items()}


def contender_rows(cpu: dict[str, list[float]], med: dict[str, float], baseline: str, speedup_field: str, **fields) -> list[dict]:
    """Print each contender's median, every epoch and speedup over ``baseline``, and return one row per contender
    (``fields`` plus median_cpu_s, all_cpu_s and ``speedup_field``), as ``interleaved_epochs`` measured them."""
    rows = []
    width = max(len(k) for k in cpu)
    for kind in cpu:
        ratio = med[baseline] / med[kind]
        print(f"{kind:{width}s} median {med[kind]:6.2f} s  all {[round(v, 2) for v in cpu[kind]]}  speedup {ratio:.2f}x")
        rows.append({"what": "finetune_epoch_cpu_s", "contender": kind, **fields, "median_cpu_s": round(med[kind], 3),
                     "all_cpu_s": [round(v, 3) for v in cpu[kind]], speedup_field: round(ratio, 3)})  # fmt: skip
    return rows
