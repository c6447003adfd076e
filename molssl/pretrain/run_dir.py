"""A pretraining run directory: its configuration, metrics log, loss curve, state and final encoder.

::

    RUN/config.json     the run as plain data: method and its options, encoder (with the featurization
                        scheme), training options, data, world size, molssl version
    RUN/scheme.json     the featurization scheme the run used (also inside every checkpoint)
    RUN/metrics.jsonl   one JSON row per logged step
    RUN/loss.png        the loss curve (and collapse monitors)
    RUN/state/          the resumable training state (``molssl.pretrain.train_state``)
    RUN/encoder/        the final encoder, the checkpoint fine-tuning loads

Every file is written to a temporary name and renamed, and metric rows past the last saved state are
dropped on resume, so a kill at any moment leaves a directory that resumes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

CONFIG = "config.json"
SCHEME = "scheme.json"
METRICS = "metrics.jsonl"
PLOT = "loss.png"
STATE = "state"
ENCODER = "encoder"


class RunDirectoryError(RuntimeError):
    """A run directory cannot be started or resumed as asked."""


def write_json_atomic(path: Path, document: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(document, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunDirectory:
    """The files of one run (see the module docstring)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def state_dir(self) -> Path:
        return self.path / STATE

    @property
    def encoder_dir(self) -> Path:
        return self.path / ENCODER

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def plot_path(self) -> Path:
        return self.path / PLOT

    def read_config(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / CONFIG).read_text())
        except FileNotFoundError:
            raise RunDirectoryError(f"{self.path}: no {CONFIG}; not a pretraining run directory") from None
        except json.JSONDecodeError as exc:
            raise RunDirectoryError(f"{self.path / CONFIG}: not valid JSON ({exc})") from None

    def start(self, config: dict[str, Any], resume: bool) -> None:
        """Prepare the directory for a new run, or check that it holds this run when resuming.

        Raises:
            RunDirectoryError: a new run into a directory that already holds one (pass ``resume``), or
                ``resume`` into a directory holding another run's configuration.
        """
        existing = (self.path / CONFIG).is_file()
        if existing and not resume:
            raise RunDirectoryError(
                f"{self.path} already holds a pretraining run; pass resume=True (--resume) to continue it, "
                "or choose another output directory"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / CONFIG, config)
        write_json_atomic(self.path / SCHEME, config["encoder"]["scheme"])

    def read_metrics(self) -> list[dict[str, Any]]:
        """The logged rows; a half-written last line (a kill mid-write) is ignored."""
        rows = []
        try:
            lines = self.metrics_path.read_text().splitlines()
        except FileNotFoundError:
            return rows
        for line in lines:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep only the rows up to ``step``: those after the last saved state are logged again."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        tmp = self.metrics_path.with_name(f".{METRICS}.tmp")
        with open(tmp, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        os.replace(tmp, self.metrics_path)

    def append_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        with open(self.metrics_path, "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
            fh.flush()

    def plot(self, title: str, min_effective_rank: float | None = None) -> Path | None:
        """Redraw the loss curve from the metrics log (nothing when no row was logged yet)."""
        from molssl.pretrain.plot import plot_curves

        rows = self.read_metrics()
        return plot_curves(rows, self.plot_path, title, min_effective_rank) if rows else None
