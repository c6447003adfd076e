"""The record of an OGB harness run: ``record.json`` (one entry per finished seed, resumable) and its table.

A run writes its record after every finished seed, atomically, with ``leaderboard.md`` beside it; a resumed
run continues a record only when its fingerprint (everything that determines the numbers) matches.
"""

from __future__ import annotations

import json
import logging
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from molssl.data.corpus import PathLike
from molssl.files import json_safe, write_json_atomic
from molssl.output_folder import OutputLayout

logger = logging.getLogger(__name__)

RECORD_FORMAT = "molssl-ogb-run"
RECORD_VERSION = 1
RECORD_FILE = "record.json"
TABLE_FILE = "leaderboard.md"
#: what a run writes into its folder (what ``overwrite`` replaces)
OGB_OUTPUTS = OutputLayout("molssl ogb run", "leaderboard run", names=(RECORD_FILE, TABLE_FILE, "predictions"),
                           finished=(RECORD_FILE,))  # fmt: skip


class RecordMismatchError(ValueError):
    """The output folder holds a run of another configuration, which a resumed run must not mix into."""


def versions() -> dict[str, str]:
    import ogb
    import rdkit
    import sklearn
    import torch_geometric

    from molssl import __version__

    return {"molssl": __version__, "ogb": ogb.__version__, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "rdkit": rdkit.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__, "python": platform.python_version()}  # fmt: skip


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_record(path: PathLike) -> dict[str, Any]:
    """Read a run's record from its folder or its ``record.json``."""
    path = Path(path)
    path = path / RECORD_FILE if path.is_dir() else path
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no harness record at {path}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a JSON record ({exc})") from exc
    if record.get("format") != RECORD_FORMAT:
        raise ValueError(f"{path}: not a molssl OGB harness record (format {record.get('format')!r})")
    if record.get("format_version", 0) > RECORD_VERSION:
        raise ValueError(f"{path}: record format version {record['format_version']} is newer than this molssl reads ({RECORD_VERSION}); upgrade molssl")
    return record


def _stats(values: list[float]) -> dict[str, float | None]:
    """Mean and unbiased standard deviation (``torch.std``), as the leaderboard asks."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None}
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else None}


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """The summary over the requested seeds that are finished (test and valid at best valid)."""
    requested = [int(s) for s in record["config"]["seeds"]]
    done = [s for s in requested if str(s) in record["seeds"]]
    per_seed = [record["seeds"][str(s)] for s in done]
    return {
        "requested_seeds": requested,
        "finished_seeds": done,
        "complete": len(done) == len(requested),
        "test": _stats([s["test"] for s in per_seed]),
        "valid": _stats([s["valid"] for s in per_seed]),
        "evaluator_matches_protocol": all(s["evaluator_matches_protocol"] for s in per_seed),
    }


def open_record(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The record at ``path`` to resume (its fingerprint must match), or a new one."""
    if not path.exists():
        return {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, "created": now(), "seeds": {}}
    record = load_record(path)
    old, new = json_safe(record.get("fingerprint", {})), json_safe(fingerprint)
    if old != new and not record.get("seeds"):
        logger.info("%s: replacing a record of another configuration that holds no finished seed", path)
        return {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, "created": now(), "seeds": {}}
    if old != new:
        differing = [k for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
        if "config" in differing:
            configs = (old.get("config") or {}, new["config"])
            differing += [f"config.{k}" for k in sorted({*configs[0], *configs[1]}) if configs[0].get(k) != configs[1].get(k)]
        raise RecordMismatchError(
            f"{path} holds a run with another configuration (differs in: {', '.join(differing)}); "
            "pass --overwrite (overwrite=True) to replace it, or use another output folder"
        )
    logger.info("resuming %s: seeds %s already done", path, sorted(int(s) for s in record["seeds"]))
    return record



def save_record(out: Path, record: dict[str, Any]) -> None:
    """Write ``record`` to ``<out>/record.json`` (atomically) and its table to ``<out>/leaderboard.md``."""
    from molssl.ogb.report import markdown_table

    document = json_safe(record)
    write_json_atomic(out / RECORD_FILE, document, indent=1)
    (out / TABLE_FILE).write_text(markdown_table([document]) + "\n")


__all__ = [
    "OGB_OUTPUTS", "RECORD_FILE", "RECORD_FORMAT", "RECORD_VERSION", "TABLE_FILE", "RecordMismatchError", "load_record",
    "now", "open_record", "save_record", "summarize", "versions",
]  # fmt: skip
