"""The optimization loop every pretraining run shares, whatever the modality.

Given a method (batch -> loss), a ``DataSource`` and the items of every step (``BatchOrder``), it
trains with the ``TrainConfig``'s optimizer schedule, precision and clipping, seeds every step from
(seed, rank, step), logs averaged metrics with the collapse monitors, and saves a resumable state
every ``checkpoint_every`` steps. What a run is (its config, directory, encoder) is
``molssl.pretrain.trainer``'s.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from molssl.pretrain.batch_order import BatchOrder
from molssl.pretrain.config import TrainConfig
from molssl.pretrain.distributed import DistContext, all_reduce_mean, barrier
from molssl.pretrain.run_dir import RunDirectory
from molssl.pretrain.source import DataSource, to_device
from molssl.pretrain.train_state import Progress, save_state
from molssl.ssl.monitors import CollapseMonitor, collapse_metrics

#: rows of the embedding matrix the collapse monitors look at (enough for a stable effective rank)
MONITOR_ROWS = 1024
#: mixed into a step's seed for the data source's generator, so collation draws differ from the method's
_DATA_TAG = 0xDA7A


def step_seed(seed: int, rank: int, step: int) -> int:
    """The seed of one step's random draws: a hash of (run seed, rank, step)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, dtype=np.uint64)[0] >> 1)


def data_seed(seed: int, rank: int, step: int) -> int:
    """The seed of the data source's draws (``DataSource.batch``) in one step."""
    return int(np.random.SeedSequence([seed, rank, step, _DATA_TAG]).generate_state(1, dtype=np.uint64)[0] >> 1)


class Meter:
    """Sums of the logged scalars over a logging interval, kept on the device until a row is written."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, loss: torch.Tensor, metrics: Mapping[str, torch.Tensor]) -> None:
        for key, value in {"loss": loss, **metrics}.items():
            value = value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value
        self.count += 1

    def means(self, ctx: DistContext) -> dict[str, float]:
        keys = sorted(self.sums)
        stacked = torch.stack([self.sums[k] for k in keys]) / max(self.count, 1)
        values = all_reduce_mean(stacked, ctx).cpu().tolist()
        self.sums, self.count = {}, 0
        return dict(zip(keys, values))


class TrainingLoop:
    """One run's optimization on one rank (``run`` trains from ``progress`` to the last step).

    Args:
        model: the method (on the device); ``net`` is it wrapped for DDP (or the same module).
        optimizer, scaler: the optimizer and the fp16 gradient scaler (or ``None``).
        source, order: the data and the items of every step.
        train: the loop's options.
        run, run_config: where to log and checkpoint, and the config saved with every state.
        ctx: this process's place in the run.
        title: of the loss plot.
        collapse_advice: the method's advice, ending the collapse warning.
        on_log: called on rank 0 with every metrics row.
    """

    def __init__(self, model: nn.Module, net: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None,
                 source: DataSource, order: BatchOrder, train: TrainConfig, run: RunDirectory, run_config: dict[str, Any],
                 ctx: DistContext, title: str, collapse_advice: str,
                 on_log: Callable[[dict[str, Any]], None] | None = None) -> None:  # fmt: skip
        self.model, self.net, self.optimizer, self.scaler = model, net, optimizer, scaler
        self.source, self.order, self.train, self.run_dir, self.run_config = source, order, train, run, run_config
        self.ctx, self.title, self.collapse_advice, self.on_log = ctx, title, collapse_advice, on_log
        self.total = train.total_steps(order.batches_per_epoch)
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(train.precision)
        self.monitor = CollapseMonitor(train.min_effective_rank)

    def run(self, progress: Progress) -> Progress:
        """Train from ``progress`` to the run's last step, checkpointing on the way; returns the final progress."""
        train, ctx = self.train, self.ctx
        bar = None
        if train.progress and ctx.is_main:
            from tqdm import tqdm

            bar = tqdm(total=self.total, initial=progress.step, desc=self.title.split(" ")[0], unit="step", dynamic_ncols=True)
        meter = Meter()
        self.interval_start, self.interval_items = time.perf_counter(), 0
        self.model.train()
        try:
            while progress.step < self.total:
                batches = self.order.epoch(progress.epoch)  # [batches_per_epoch, G]
                for b in range(progress.batch_in_epoch, len(batches)):
                    if progress.step >= self.total:
                        break
                    output, lr = self.step(batches[b], progress)
                    meter.add(output.loss, output.metrics)
                    progress.step += 1
                    progress.batch_in_epoch += 1
                    progress.items_seen += train.batch_size
                    self.interval_items += train.batch_size
                    if progress.step % train.log_every == 0 or progress.step == self.total:
                        row = self.log(meter, progress, lr, output)
                        if bar is not None:
                            bar.set_postfix(loss=f"{row['loss']:.4f}", rate=f"{row[self.source.unit + '_per_s']:.0f}/s")
                    if bar is not None:
                        bar.update(1)
                    if progress.step % train.checkpoint_every == 0 or progress.step == self.total:
                        self.checkpoint(progress)
                else:
                    progress.epoch += 1
                    progress.batch_in_epoch = 0
        finally:
            if bar is not None:
                bar.close()
        return progress

    def step(self, global_batch: torch.Tensor, progress: Progress) -> tuple[Any, float]:
        """One optimizer step on this rank's share of ``global_batch``; returns the method's output and the lr."""
        train, ctx = self.train, self.ctx
        seed = step_seed(train.seed, ctx.rank, progress.step)
        torch.manual_seed(seed)  # dropout and any other global draw of this step
        generator = torch.Generator(device=ctx.device)
        generator.manual_seed(seed)
        data_generator = torch.Generator().manual_seed(data_seed(train.seed, ctx.rank, progress.step))
        batch = to_device(self.source.batch(self.order.rank_batch(global_batch), data_generator), ctx.device)
        lr = train.lr_at(progress.step, self.total)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        dtype = self.autocast_dtype
        with torch.autocast(ctx.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            output = self.net(batch, generator)
        self.optimizer.zero_grad(set_to_none=True)
        scaler = self.scaler
        if scaler is not None and scaler.is_enabled():
            scaler.scale(output.loss).backward()
            if train.grad_clip:
                scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), train.grad_clip)
            scaler.step(self.optimizer)
            scaler.update()
        else:
            output.loss.backward()
            if train.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), train.grad_clip)
            self.optimizer.step()
        return output, lr

    def log(self, meter: Meter, progress: Progress, lr: float, output: Any) -> dict[str, Any]:
        """Write the interval's metrics row (rank 0), warn on collapse; raise on a non-finite loss."""
        seconds = time.perf_counter() - self.interval_start
        unit = self.source.unit
        row: dict[str, Any] = {"step": progress.step, "epoch": progress.epoch, **meter.means(self.ctx), "lr": lr,
                               f"{unit}_per_s": self.interval_items / seconds if seconds > 0 else 0.0,
                               f"{unit}_seen": progress.items_seen}  # fmt: skip
        if output.embeddings is not None:
            z = output.embeddings[:MONITOR_ROWS].float()
            z2 = None if output.embeddings2 is None else output.embeddings2[:MONITOR_ROWS].float()
            row.update(collapse_metrics(z, z2))
        progress.train_seconds += time.perf_counter() - self.interval_start
        self.interval_start, self.interval_items = time.perf_counter(), 0
        if not math.isfinite(row["loss"]):
            raise FloatingPointError(
                f"the loss became {row['loss']} at step {progress.step}; lower lr, set grad_clip, or use "
                f"fp32 (now {self.train.precision}); the last checkpoint in {self.run_dir.state_dir} is intact"
            )
        message = self.monitor.check(row, advice=self.collapse_advice)
        if message:
            row["collapse_warning"] = True
            if self.ctx.is_main:
                warnings.warn(f"step {progress.step}: {message}", RuntimeWarning, stacklevel=4)
        if self.ctx.is_main:
            self.run_dir.append_metrics([row])
            if self.on_log is not None:
                self.on_log(row)
        return row

    def checkpoint(self, progress: Progress) -> None:
        """Save the resumable state (rank 0) and redraw the loss curve; rows logged later are redone on resume."""
        if self.ctx.is_main:
            save_state(self.run_dir.state_dir, self.model, self.optimizer, self.scaler, progress, self.run_config)
            self.run_dir.plot(self.title, self.train.min_effective_rank)
        barrier(self.ctx)


__all__ = ["MONITOR_ROWS", "Meter", "TrainingLoop", "data_seed", "step_seed"]
