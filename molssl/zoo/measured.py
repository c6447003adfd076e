"""The transfer results measured for the zoo's encoders (``benchmarks/zoo_transfer.py --report`` writes them).

The summary lives beside the embedded originals, ``datasets/pretrain-gnns/transfer.json``: the protocol
and command, then for every encoder (and each architecture's from-scratch baseline, ``none/<arch>``) and
fine-tuning mode, the test ROC-AUC (%) at the best-validation epoch per dataset as mean, std and number of
seeds. ``molssl zoo show NAME`` prints the entry's part.
"""

from __future__ import annotations

import json
from typing import Any

from molssl.data.embedded import embedded_file

TRANSFER_FILE = "pretrain-gnns/transfer.json"


def transfer_summary() -> dict[str, Any] | None:
    """The whole measured summary, or None when none has been recorded (or the file is not available)."""
    try:
        path = embedded_file(TRANSFER_FILE)
    except FileNotFoundError:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def measured_transfer(name: str) -> dict[str, Any] | None:
    """What was measured for zoo entry ``name`` and its architecture's baseline, or None.

    Returns:
        ``{"protocol", "command", "modes": {mode: {"encoder": {dataset: {"mean", "std", "n"}},
        "none": {...}}}}`` for the modes measured.
    """
    summary = transfer_summary()
    if not summary or name not in summary.get("encoders", {}):
        return None
    baseline = summary["encoders"].get(f"none/{summary.get('arch_of', {}).get(name)}", {})
    modes = {mode: {"encoder": by_set, "none": baseline.get(mode, {})} for mode, by_set in summary["encoders"][name].items()}
    return {"protocol": summary["protocol"], "command": summary["command"], "modes": modes}


__all__ = ["TRANSFER_FILE", "measured_transfer", "transfer_summary"]
