"""Facts about the machine a run executes on, for records and benchmark rows: the CPU model and the hardware."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device) -> str:
    """The leaderboard's "Hardware": the GPU, or the CPU with its cores and torch threads."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f}GB GPU)"
    threads = torch.get_num_threads()
    return f"{cpu_model()} (CPU, {os.cpu_count()} cores, {threads} torch thread{'' if threads == 1 else 's'})"



__all__ = ["cpu_model", "hardware"]
