"""A pretraining run directory: its configuration, metrics log, loss curve, state and final encoder.

::

    RUN/config.json     the run as plain data (``molssl.pretrain.config.RunConfig``): method and its
                        options, encoder (its kind and options; for graphs with the featurization scheme),
                        data, training options, init; and what the run found: the data source's
                        ``describe()`` ("source"), world size, molssl version
    RUN/scheme.json     graph runs: the featurization scheme the run used (also inside every checkpoint)
    RUN/metrics.jsonl   one JSON row per logged step
    RUN/loss.png        the loss curve (and collapse monitors)
    RUN/state/          the resumable training state (``molssl.pretrain.train_state``)
    RUN/encoder/        the final encoder, the checkpoint fine-tuning loads

Every file is written to a temporary name and renamed, and metric rows past the last saved state are
dropped on resume, so a kill at any moment leaves a directory that resumes.

The folder follows ``molssl.output_folder``'s rule: a run with progress (``state/``, a staged copy of it,
or ``encoder/``) is refused unless resumed or overwritten; a run that failed before its first checkpoint
left only ``config.json``/``scheme.json``/metrics, which a new run (or ``resume``) replaces.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

from molssl.files import write_json_atomic, write_text_atomic
from molssl.output_folder import OutputExistsError, OutputLayout, check_output_folder, clear_outputs

CONFIG = "config.json"
SCHEME = "scheme.json"
METRICS = "metrics.jsonl"
PLOT = "loss.png"
STATE = "state"
ENCODER = "encoder"

#: what a pretraining run writes; a saved state or the final encoder is progress a new run must not replace silently
LAYOUT = OutputLayout("molssl pretrain", "pretraining run with saved progress", names=(CONFIG, SCHEME, METRICS, PLOT, STATE, ENCODER), finished=(STATE, ENCODER),
                      resumable=True)  # fmt: skip


class RunDirectoryError(OutputExistsError):
    """A run directory cannot be started or resumed as asked."""


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

    def has_progress(self) -> bool:
        """Whether the run saved anything a restart would lose: a training state (or a staged copy of one) or its encoder."""
        from molssl.checkpoint import staged_copies

        return self.state_dir.exists() or bool(staged_copies(self.state_dir)) or self.encoder_dir.exists()

    def check(self, resume: bool = False, overwrite: bool = False) -> None:
        """Before any work: refuse a directory holding a run with progress unless ``resume`` or ``overwrite``.

        Raises:
            RunDirectoryError: naming the run's saved files and the options that go on.
            ValueError: both ``resume`` and ``overwrite``.
        """
        try:
            check_output_folder(self.path, LAYOUT, overwrite=overwrite, resume=resume)
        except OutputExistsError as exc:
            raise RunDirectoryError(str(exc)) from None
        if self.has_progress() and not (resume or overwrite):
            raise RunDirectoryError(f"{self.path} holds an interrupted pretraining run (a staged training state); pass "
                                    "--resume to continue it, --overwrite to start over, or choose another output directory")  # fmt: skip

    def start(self, config: dict[str, Any], resume: bool, overwrite: bool = False) -> None:
        """Prepare the directory for this run, after everything was validated (``check`` came first).

        A new run (and a resumed one without progress) replaces what an earlier attempt left; ``overwrite``
        also replaces a run with progress. Resuming a run with progress keeps everything.

        Raises:
            RunDirectoryError: as ``check``.
        """
        self.check(resume=resume, overwrite=overwrite)
        if overwrite or not self.has_progress():
            from molssl.checkpoint import staged_copies

            clear_outputs(self.path, LAYOUT)
            for copy in (*staged_copies(self.state_dir), *staged_copies(self.encoder_dir)):
                shutil.rmtree(copy, ignore_errors=True)  # only with overwrite: without it, has_progress kept them
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / CONFIG, config, sort_keys=True)
        if config["encoder"].get("scheme") is not None:  # graph runs: the featurization scheme on its own
            write_json_atomic(self.path / SCHEME, config["encoder"]["scheme"], sort_keys=True)

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
        write_text_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

    def append_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        with open(self.metrics_path, "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
            fh.flush()

    def plot(self, title: str, min_effective_rank: float | None = None) -> Path | None:
        """Redraw the loss curve from the metrics log (nothing when no row was logged yet)."""
        from molssl.pretrain.plot import plot_curves

        rows = self.read_metrics()
        return plot_curves(rows, self.plot_path, title, min_effective_rank) if rows else None
