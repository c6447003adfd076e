"""The transfer experiment as library code: pretrain each variant, fine-tune its snapshots on MoleculeNet.

For every variant (``molssl.tasks.transfer_config``: ``"none"``, a method, or a combination) and every
pretraining length k in ``pretrain_steps``, the encoder after k steps is fine-tuned on each dataset with
each seed under ``molssl.tasks.finetune``'s protocol (scaffold split; test at the best-validation
epoch and at the last one). Each variant has one pretraining run, resumed to each length in turn: with
the constant learning rate, 200 -> 1000 -> 5000 steps is exactly one 5000-step run, so the snapshot
after k steps is the encoder a k-step run ends with.

::

    OUT/config.json                       the experiment (TransferConfig as plain data)
    OUT/pretrain/<variant>/               the variant's pretraining run directory (molssl.pretrain.run_dir)
    OUT/pretrain/<variant>/encoder-<k>/   its encoder after k steps (a checkpoint, written atomically)
    OUT/rows.jsonl                        one row per variant x steps x dataset x seed, appended as each ends

A rerun skips the rows already in rows.jsonl and resumes pretraining where it stopped, so a killed
experiment continues. It must use the same configuration, except that it may name other variants,
datasets, pretraining lengths and seeds (config.json then records the union, and the report covers
every row) and other ``workers`` / ``pretrain_device``. A length below one a variant's run has
already passed cannot be added unless its snapshot exists (a run does not go back). One process at a
time may run an experiment directory.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator

from molssl import __version__
from molssl.checkpoint import CheckpointError, read_checkpoint, save_checkpoint, staged_copies
from molssl.files import write_json_atomic, write_text_atomic
from molssl.pretrain import pretrain
from molssl.pretrain.run_dir import RunDirectoryError
from molssl.tasks.transfer_config import NONE, READOUT, SCHEME, TransferConfig

FORMAT = "molssl-transfer"
FORMAT_VERSION = 1
CONFIG = "config.json"
ROWS = "rows.jsonl"
PRETRAIN = "pretrain"
#: what every row holds (``read_rows`` checks them)
ROW_KEYS = ("variant", "pretrain_steps", "dataset", "seed", "test_at_best_valid", "test_at_last_epoch")

RowKey = tuple[str, int, str, int]


def row_key(row: dict[str, Any]) -> RowKey:
    """A row's identity: (variant, pretraining steps (0 for ``none``), dataset, seed)."""
    return row["variant"], row["pretrain_steps"], row["dataset"], row["seed"]


def read_rows(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of an experiment directory; a half-written last line (a kill mid-write) is ignored.

    Raises:
        ValueError: a line that is not a JSON row with ``ROW_KEYS`` (naming the file and line).
    """
    path = Path(out_dir) / ROWS
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # what follows the last newline was never finished
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
            missing = [k for k in ROW_KEYS if k not in row] if isinstance(row, dict) else list(ROW_KEYS)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {number}: not a JSON row ({exc}); fix or delete that line") from None
        if missing:
            raise ValueError(f"{path}, line {number}: not a transfer row (missing {missing}); fix or delete that line")
        rows.append(row)
    return rows


def load_transfer_config(out_dir: str | os.PathLike) -> TransferConfig:
    """The configuration an experiment directory records.

    Raises:
        RunDirectoryError: no config.json there, or one that is not a transfer experiment's.
    """
    path = Path(out_dir) / CONFIG
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirectoryError(f"{Path(out_dir)}: no {CONFIG}; not a transfer experiment directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirectoryError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise RunDirectoryError(f"{path}: not a transfer experiment (format {found!r}, expected {FORMAT!r}); use another directory")
    try:
        return TransferConfig.from_dict(document["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunDirectoryError(f"{path}: unreadable transfer configuration ({type(exc).__name__}: {exc})") from None


def _start(out: Path, config: TransferConfig) -> None:
    """Record ``config`` in ``out`` (the union with the one recorded there), or refuse a different experiment."""
    if (out / CONFIG).is_file():
        try:
            config = load_transfer_config(out).extended_by(config)
        except ValueError as exc:
            raise RunDirectoryError(f"{out} holds a transfer experiment with another configuration: it {exc}; rerun with "
                                    "its options, or use another output directory") from None  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / CONFIG, {"format": FORMAT, "format_version": FORMAT_VERSION, "molssl_version": __version__,
                                     "config": config.to_dict()})  # fmt: skip
    rows = out / ROWS
    if rows.is_file():
        text = rows.read_text()
        if text and not text.endswith("\n"):  # drop the half row a kill left, so the next one starts on its own line
            write_text_atomic(rows, text[: text.rfind("\n") + 1])


@dataclass(frozen=True)
class FinetuneJob:
    """One row to compute: fine-tune the encoder of ``variant`` after ``pretrain_steps`` on ``dataset`` with ``seed``."""

    config: TransferConfig
    variant: str
    pretrain_steps: int
    dataset: str
    seed: int
    encoder_dir: str | None

    @property
    def key(self) -> RowKey:
        return self.variant, self.pretrain_steps, self.dataset, self.seed


def finetune_row(job: FinetuneJob) -> dict[str, Any]:
    """Fine-tune one encoder snapshot (or a fresh encoder for ``none``) and return the row."""
    from molssl.tasks.predictor import PropertyPredictor

    config = job.config
    start = time.perf_counter()
    encoder = config.scratch_encoder() if job.encoder_dir is None else "gin"  # a snapshot brings its architecture
    predictor = PropertyPredictor(encoder=encoder, scheme=SCHEME, readout=READOUT, dropout=config.dropout)
    predictor.fit(job.dataset, config=config.finetune_config(job.seed), pretrained=job.encoder_dir)
    result = predictor.metrics_["per_seed"][0]
    method, options = config.variant_method(job.variant)
    return {
        "variant": job.variant, "method": method, "method_options": options, "pretrain_steps": job.pretrain_steps,
        "graphs_seen": job.pretrain_steps * config.pretrain_batch_size, "dataset": job.dataset, "seed": job.seed,
        "epochs": config.epochs, "metric": predictor.metrics_["metric"], "test_at_best_valid": result["test_at_best"],
        "valid_at_best": result["valid_at_best"], "best_epoch": result["best_epoch"],
        "test_at_last_epoch": result["test_at_last"], "valid_at_last_epoch": result["valid_at_last"],
        "minutes": round((time.perf_counter() - start) / 60, 3), "molssl_version": __version__,
        "experiment": config.experiment_key(),
    }  # fmt: skip


def adopt_rows(out_dir: str | os.PathLike, config: TransferConfig, rows: Iterable[dict[str, Any]]) -> int:
    """Append to ``out_dir``'s rows.jsonl the rows of this experiment recorded elsewhere (e.g. a results file).

    A row is adopted when it carries ``config``'s ``experiment_key`` (rows from before the key existed never
    are), names one of its variants with the same method and options, and is not in rows.jsonl yet; a rerun
    then skips it. This is how an experiment continues in a fresh checkout whose working directory is gone.
    The pretraining runs are not restored: a snapshot still needed is pretrained again (bitwise the same).

    Returns:
        The number of rows appended.
    """
    out = Path(out_dir)
    key = config.experiment_key()
    done = {row_key(r) for r in read_rows(out)}
    adopted = []
    for row in rows:
        if row.get("experiment") != key or row.get("variant") not in config.variants or any(k not in row for k in ROW_KEYS):
            continue
        method, options = config.variant_method(row["variant"])
        if (row.get("method"), row.get("method_options")) != (method, options) or row_key(row) in done:
            continue
        done.add(row_key(row))
        adopted.append(row)  # with what the results file added (command, date, commit): its provenance
    if adopted:
        _start(out, config)
        with open(out / ROWS, "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in adopted)
    return len(adopted)


def _stages(config: TransferConfig, done: Collection[RowKey]) -> Iterator[tuple[str, int, list[tuple[str, int]], bool]]:
    """(variant, steps, its pending (dataset, seed) pairs, whether its snapshot is needed), in running order.

    ``none`` first, then by length, every variant at a length before any at a longer one (a stopped
    experiment has the whole curve at the short lengths). A snapshot is taken at every length up to a
    variant's longest pending one, so that seeds or datasets added later find it.
    """
    pending = lambda v, k: [(d, s) for s in config.seeds for d in config.datasets if (v, k, d, s) not in done]  # noqa: E731
    if NONE in config.variants:
        yield NONE, 0, pending(NONE, 0), False
    pretrained = [v for v in config.variants if v != NONE]
    longest = {v: max((k for k in config.pretrain_steps if pending(v, k)), default=0) for v in pretrained}
    for steps in config.pretrain_steps:
        for variant in pretrained:
            yield variant, steps, pending(variant, steps), steps <= longest[variant]


def _steps_done(run_dir: Path) -> int:
    """Steps the pretraining run in ``run_dir`` has saved (0 without a loadable state: ``pretrain`` then explains)."""
    state = run_dir / "state"
    if not state.exists() and not staged_copies(state):
        return 0
    try:
        return int(read_checkpoint(state, newest=True).extra["progress"]["step"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return 0


def _snapshot(config: TransferConfig, out: Path, variant: str, steps: int, needed: bool, bar: bool,
              progress: Callable[[dict[str, Any]], None] | None) -> Path | None:  # fmt: skip
    """The encoder of ``variant`` after ``steps`` steps: taken from its run, pretrained (resumed) up to there first."""
    run_dir = out / PRETRAIN / variant
    snapshot = run_dir / f"encoder-{steps}"
    if (snapshot / "config.json").is_file():
        return snapshot
    reached = _steps_done(run_dir)
    if reached > steps:
        if not needed:
            return None
        raise RunDirectoryError(
            f"{run_dir} has pretrained {reached} steps, past {steps}, and holds no {snapshot.name}: a snapshot is taken "
            f"only on the way up; drop {steps} from pretrain_steps, or use another output directory"
        )
    method, options = config.variant_method(variant)
    start = time.perf_counter()
    result = pretrain(method, config.corpus, run_dir, train=config.pretrain_config(steps, bar), method_options=options,
                      encoder=config.encoder, scheme=SCHEME, resume=True, workers=config.workers)  # fmt: skip
    found = read_checkpoint(result.encoder_dir)
    save_checkpoint(snapshot, found.config, found.state_dict, extra={**found.extra, "snapshot_of": f"{run_dir.name} at step {steps}"})
    if progress is not None:
        losses = [r["loss"] for r in result.metrics if r["step"] <= steps]
        progress({"event": "pretrained", "variant": variant, "method": method, "steps": steps, "encoder_dir": str(snapshot),
                  "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None,
                  "minutes": round((time.perf_counter() - start) / 60, 3), "resumed_from": reached})  # fmt: skip
    return snapshot


class _Recorder:
    """Appends each finished row to rows.jsonl at once (from the pool's callback thread too) and reports it."""

    def __init__(self, path: Path, total: int, progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.path, self.total, self.progress = path, total, progress
        self.rows: list[dict[str, Any]] = []
        self.errors: list[tuple[RowKey, BaseException]] = []
        self.lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> None:
        with self.lock:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.rows.append(row)
            if self.progress is not None:
                self.progress({"event": "row", "row": row, "done": len(self.rows), "total": self.total})

    def add_future(self, key: RowKey, future) -> None:
        if future.cancelled():
            return
        if future.exception() is not None:
            with self.lock:
                self.errors.append((key, future.exception()))
            return
        self.add(future.result())


def _single_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _worker_pool(jobs: int):
    """``jobs`` fine-tuning processes with one torch thread each (a ``concurrent.futures`` executor)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a fork would copy this process's torch threads (and CUDA context) into the workers
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_single_thread)


def run_transfer(
    config: TransferConfig,
    out_dir: str | os.PathLike,
    jobs: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    exclude: Collection[RowKey] = (),
    pretrain_progress_bar: bool = False,
) -> list[dict[str, Any]]:
    """Run (or resume) a transfer experiment in ``out_dir`` (layout in the module docstring).

    Args:
        config: the experiment.
        out_dir: its directory; a rerun skips the rows there and resumes pretraining.
        jobs: fine-tuning processes (one torch thread each; 1: in this process, between pretraining stages).
            Pretraining runs in this process meanwhile, with its torch threads (on a CPU-only machine, leave
            cores for it).
        progress: called with each event: ``{"event": "plan", "todo", "recorded"}``, ``{"event":
            "pretrained", "variant", "method", "steps", "encoder_dir", "first_loss", "final_loss",
            "minutes", "resumed_from"}`` and ``{"event": "row", "row", "done", "total"}`` (as each row is
            appended; with ``jobs > 1`` from another thread).
        exclude: row keys (``row_key``) to treat as done, e.g. rows recorded elsewhere.
        pretrain_progress_bar: show the pretraining loop's progress bar.

    Returns:
        The rows computed by this call.

    Raises:
        RunDirectoryError: ``out_dir`` holds a different experiment, or a pretraining length its runs passed.
        RuntimeError: fine-tuning runs failed (after every other row is recorded; the message names them).
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    out = Path(out_dir)
    _start(out, config)
    done = {row_key(r) for r in read_rows(out)} | set(exclude)
    stages = list(_stages(config, done))
    total = sum(len(pairs) for _, _, pairs, _ in stages)
    if any(variant != NONE and (pairs or needed) for variant, _, pairs, needed in stages):
        from molssl.pretrain.data import unlabeled_data

        # open (or build) the corpus's store now: a bad corpus file is an error before hours of fine-tuning
        unlabeled_data(config.corpus, scheme=SCHEME, workers=config.workers)
    if progress is not None:
        progress({"event": "plan", "todo": total, "recorded": len(done)})
    recorder = _Recorder(out / ROWS, total, progress)
    pool = _worker_pool(jobs) if jobs > 1 and total else None
    submitted = False
    try:
        for variant, steps, pairs, snapshot_needed in stages:
            encoder_dir = None
            if variant != NONE and (pairs or snapshot_needed):
                encoder_dir = _snapshot(config, out, variant, steps, bool(pairs), pretrain_progress_bar, progress)
            for dataset, seed in pairs:
                job = FinetuneJob(config, variant, steps, dataset, seed, None if encoder_dir is None else str(encoder_dir))
                if pool is None:
                    recorder.add(finetune_row(job))
                else:
                    pool.submit(finetune_row, job).add_done_callback(lambda f, key=job.key: recorder.add_future(key, f))
        submitted = True
    finally:
        if pool is not None:
            # every row is queued once the loop ends: wait for all of them; after an error or an interrupt,
            # drop the rows no worker has started (a rerun computes them)
            pool.shutdown(wait=True, cancel_futures=not submitted)
    if recorder.errors:
        key, exc = recorder.errors[0]
        raise RuntimeError(f"{len(recorder.errors)} fine-tuning run(s) failed (their rows are not recorded; a rerun "
                           f"retries them); first: {key}: {type(exc).__name__}: {exc}") from exc  # fmt: skip
    return recorder.rows
