"""Seeds of the fine-tuning protocol in parallel processes (``finetune(..., jobs=N)``, ``molssl finetune --jobs``).

Each seed runs the caller's ``run_seed`` (``molssl.tasks.seed_run.run_seed``) in a worker process
(``worker_context``) with its own number of torch threads; per-epoch records travel back through a queue so
the caller's ``progress`` sees every epoch as it ends. A seed seeds everything itself, so the results equal
the sequential run's with the same threads. The pool knows nothing of fine-tuning: ``finetune`` hands it the
function and the task, so imports flow one way (``finetune`` -> ``seed_pool``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

import torch

#: ``run_seed(task, seed, progress=...) -> (result, best state)``: one seed, as ``molssl.tasks.seed_run.run_seed``
RunSeed = Callable[..., tuple[Any, dict[str, torch.Tensor]]]

#: seconds between checks of the workers while no epoch record arrives
_POLL_S = 0.2


def default_threads(jobs: int) -> int:
    """Torch threads per worker when ``jobs`` seeds share this process's threads (at least 1)."""
    return max(1, torch.get_num_threads() // jobs)


#: the queue a worker puts its epoch records on (set when the worker starts)
_records = None


def _init_worker(threads: int, records) -> None:
    global _records
    from molssl.allocator import keep_freed_memory

    keep_freed_memory()
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    _records = records


def _seed_in_worker(run_seed: RunSeed, task: Any, seed: int) -> tuple[Any, dict[str, torch.Tensor]]:
    return run_seed(task, seed, progress=_records.put if _records is not None else None)


def worker_context() -> multiprocessing.context.BaseContext:
    """A start method that never forks this process (its torch threads or CUDA context would be copied).

    ``forkserver`` where the platform has it, with the fine-tuning modules preloaded in the server so a
    worker starts in milliseconds; otherwise ``spawn``.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch", "molssl.tasks.seed_run"])
        return context
    return multiprocessing.get_context("spawn")


def run_seeds_in_processes(
    run_seed: RunSeed,
    task: Any,
    seeds: Sequence[int],
    jobs: int,
    threads: int | None = None,
    progress: Callable[[dict], None] | None = None,
) -> list[tuple[Any, dict[str, torch.Tensor]]]:
    """Run ``run_seed(task, seed)`` for every seed in up to ``jobs`` worker processes; results in the order of ``seeds``.

    Args:
        run_seed: one seed of the protocol, a module-level function (``molssl.tasks.seed_run.run_seed``).
        task: the protocol's data and options (a ``molssl.tasks.seed_run.SeedTask``; picklable: its
            ``make_model`` must not be a closure).
        seeds: the seeds to run.
        jobs: processes at once.
        threads: torch threads per process (default ``default_threads(jobs)``).
        progress: called in this process with every epoch record as it arrives.

    Raises:
        ValueError: ``task`` cannot be sent to a worker (e.g. a closure as ``make_model``).
        Exception: the first error a seed raised, re-raised here after the other seeds are cancelled.
    """
    import pickle

    try:
        pickle.dumps(task.make_model)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"jobs > 1 runs seeds in other processes, which needs a picklable make_model ({exc}); pass a module-level "
            "function or a callable object such as molssl.tasks.model.ModelFactory, or use jobs=1"
        ) from None
    threads = threads or default_threads(jobs)
    context = worker_context()
    records = context.Queue() if progress is not None else None
    with ProcessPoolExecutor(min(jobs, len(seeds)), mp_context=context, initializer=_init_worker,
                             initargs=(threads, records)) as pool:  # fmt: skip
        futures = [pool.submit(_seed_in_worker, run_seed, task, seed) for seed in seeds]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                _drain(records, progress)
                for future in done:
                    future.result()  # raise a seed's error now
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    _drain(records, progress, final=True)
    return [future.result() for future in futures]


def _drain(records, progress: Callable[[dict], None] | None, final: bool = False) -> None:
    """Hand every queued epoch record to ``progress`` (``final``: the workers are done; wait for the queue's feeder)."""
    if records is None or progress is None:
        return
    while True:
        try:
            progress(records.get(timeout=0.05) if final else records.get_nowait())
        except queue.Empty:
            return
