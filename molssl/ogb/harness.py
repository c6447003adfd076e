"""The OGB leaderboard harness for ogbg-mol*: official data, official split, official evaluator, 10 seeds.

    record = run_ogb("ogbg-molhiv", root="dataset", encoder="gin-virtual")      # 10 seeds, 100 epochs
    record["summary"]["test"]            # {"mean": ..., "std": ...} over the seeds (unbiased std)
    print(molssl.ogb.report.markdown_table([record]))

The protocol is the leaderboard's (Hu et al., "Open Graph Benchmark", NeurIPS 2020, and the rules of
its leaderboards) and that of OGB's example loop: train on the official train split; after every epoch
score valid and test with ``ogb.graphproppred.Evaluator`` on the model's raw outputs (logits for
classification); per seed report test at the first epoch of best validation score, with that
validation score; over seeds 0..9 report mean and unbiased standard deviation; count every parameter;
declare external data. The defaults are the official baselines' (``examples/graphproppred/mol``): 5
layers of 300, dropout 0.5, mean readout, Adam lr 1e-3, batch 32, 100 epochs. Training runs through
``molssl.tasks.finetune.finetune``, one seed at a time; its own selection (molssl's metrics, on the
same raw outputs in float64) is recorded beside the Evaluator's: the two agree exactly, and the record
says whether they did.

Each finished seed is written at once to ``<out>/record.json`` (atomically) with ``<out>/leaderboard.md``,
so a killed run loses only the seed in progress: running the same command again skips finished seeds.
A record holding another configuration is never mixed into: the run stops and says what differs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from molssl.data.corpus import PathLike
from molssl.files import json_safe
from molssl.nn.encoder import EncoderConfig
from molssl.ogb.catalog import OgbDatasetInfo, get_ogb_dataset
from molssl.ogb.download import ensure_ogb_dataset
from molssl.ogb.features import FULL, SIMPLE, build_graphs
from molssl.ogb.layout import read_ogb_dataset
from molssl.ogb.model_init import declared_external_data, default_method, parameter_counts, resolve_model
from molssl.ogb.record import OGB_OUTPUTS, RECORD_FILE, now, open_record, save_record, summarize, versions
from molssl.ogb.run_config import OgbRunConfig, encoder_name
from molssl.ogb.scoring import OfficialScores, check_scorable
from molssl.machine import hardware
from molssl.output_folder import clear_outputs
from molssl.tasks.finetune import finetune
from molssl.tasks.predict_graphs import resolve_device
from molssl.tasks.model import PredictorConfig, PropertyModel
from molssl.tasks.target_scaler import TargetScaler

logger = logging.getLogger(__name__)


def default_out(config: OgbRunConfig, features: str, encoder: EncoderConfig) -> Path:
    """``runs/ogb/<dataset>/<encoder>[-<features>][-init-<checkpoint>]``, relative to the working folder."""
    slug = encoder_name(encoder) + ("" if features == FULL else f"-{features}")
    if config.init is not None:
        slug += f"-init-{Path(config.init).name}"
    return Path("runs") / "ogb" / config.dataset / slug


def run_ogb(
    dataset: str | OgbRunConfig,
    root: PathLike = "dataset",
    out: PathLike | None = None,
    *,
    download: bool = True,
    url: str | None = None,
    device: str | torch.device = "auto",
    method: str | None = None,
    external_data: str | None = None,
    contact: str | None = None,
    references: str | None = None,
    save_predictions: bool = False,
    workers: int = 1,
    on_unfeaturizable: str = "empty",
    cache: bool = True,
    progress: Callable[[dict], None] | None = None,
    overwrite: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Run (or resume) the leaderboard protocol on an ogbg-mol* dataset; returns the record.

    Args:
        dataset: the dataset name (then ``options`` are ``OgbRunConfig`` fields: encoder, init,
            features, seeds, epochs, ...) or a full ``OgbRunConfig``.
        root: where the dataset lives (``<root>/ogbg_molhiv/``), as OGB's ``root``.
        out: the run's folder (record, Markdown table, predictions); default
            ``runs/ogb/<dataset>/<encoder>...``. An existing record of this configuration there is resumed;
            one of another configuration is refused unless ``overwrite`` (``molssl.output_folder``'s rule; a
            record without a finished seed never blocks).
        download: fetch the dataset from OGB's URL when files are missing (else: an error listing them).
        url: another location of OGB's zip.
        device: where to train: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when present); batches
            are built on the CPU and follow the model (``molssl.tasks.finetune``).
        method: the name in the leaderboard table (default from encoder, features, pretraining).
        external_data: what external data the model saw (e.g. the pretraining corpus); read from the
            checkpoint's ``extra`` when it records it.
        contact, references: the leaderboard's Contact and References columns.
        save_predictions: also write each seed's valid/test outputs at its best epoch, as the Evaluator
            saw them (logits for classification), and the labels (``predictions/*.npy``).
        workers: featurization processes (molssl schemes only).
        on_unfeaturizable: with molssl features, ``"empty"`` scores a molecule the scheme cannot
            represent as a graph without atoms (listed in the record); ``"raise"`` stops.
        cache: cache the parsed raw files in ``<dataset>/molssl/``.
        progress: called after every epoch with ``{"seed", "epoch", "loss", "valid", "test", ...}`` (the
            Evaluator's scores).
        overwrite: replace the run ``out`` holds (record, table, predictions), once the data was read.

    Returns:
        The record (also in ``<out>/record.json``); ``record["summary"]`` holds mean and std.

    Raises:
        ValueError: unknown dataset or option; OgbLayoutError: files missing (listed);
        OgbDataError: inconsistent files; RecordMismatchError: ``out`` holds another run;
        SchemeMismatchError: ``init`` was built for other features than asked for.
    """
    from ogb.graphproppred import Evaluator

    config = dataset if isinstance(dataset, OgbRunConfig) else OgbRunConfig(dataset=dataset, **options)
    if isinstance(dataset, OgbRunConfig) and options:
        raise TypeError(f"pass options either in the OgbRunConfig or as keywords, not both ({sorted(options)})")
    info: OgbDatasetInfo = get_ogb_dataset(config.dataset)
    device = resolve_device(device)
    encoder, features, init = resolve_model(config)
    ensure_ogb_dataset(info.name, root, download=download, url=url)
    data = read_ogb_dataset(root, info.name, cache=cache)
    graphs, feature_info = build_graphs(data, features, workers=workers, on_unfeaturizable=on_unfeaturizable)
    labels = data.labels
    check_scorable(data, labels)
    predictor = PredictorConfig(encoder=encoder, readout=config.readout, task_type=info.molssl_task_type, task_names=data.task_names)
    def make_model() -> PropertyModel:
        model = PropertyModel(predictor)
        if init is not None:
            model.encoder.load_state_dict(init.state, strict=True)
        return model.to(device)

    external = declared_external_data(init, external_data)
    fingerprint = {
        # seeds may grow on resume; the checkpoint counts by content (its sha256 below), not by path
        "config": {k: v for k, v in config.to_dict().items() if k not in ("seeds", "eval_batch_size", "init")},
        "features": features,
        "on_unfeaturizable": on_unfeaturizable if features not in (FULL, SIMPLE) else None,
        "predictor": predictor.to_dict(),
        "data_files": data.files,
        "init_config_sha256": init.digest if init is not None else None,
    }
    out = Path(out) if out is not None else default_out(config, features, encoder)
    if overwrite:
        clear_outputs(out, OGB_OUTPUTS)
    out.mkdir(parents=True, exist_ok=True)
    record = open_record(out / RECORD_FILE, fingerprint)
    num_params = parameter_counts(make_model(), features, init)
    record.update({
        "out": str(out), "dataset": info.name, "metric": info.eval_metric, "task_type": info.task_type, "num_tasks": info.num_tasks,
        "method": method or record.get("method") or default_method(encoder, features, external, init is not None),
        "contact": contact if contact is not None else record.get("contact", ""),
        "references": references if references is not None else record.get("references", ""),
        "fingerprint": fingerprint,
        "config": config.to_dict(),
        "model": {"name": encoder_name(encoder), "predictor": predictor.to_dict()},
        "features": feature_info,
        "data": {"directory": str(data.directory), "official": data.official, "not_official_because": list(data.not_official_because),
                 "provenance": data.provenance,
                 "num_graphs": len(data), "split": {"name": info.split, "sizes": [len(p) for p in data.split]},
                 "files": data.files},
        "init": None if init is None else {"path": str(init.path), "kind": init.kind, "config_sha256": init.digest},
        "external_data": external,
        "num_parameters": num_params,
        "protocol": {
            "evaluator": f"ogb.graphproppred.Evaluator({info.name!r}), metric {info.eval_metric}",
            "selection": "after every epoch the Evaluator scores valid and test on the raw model outputs (logits for "
                         "classification); per seed, test and valid at the first epoch of best validation score",
            "aggregate": "mean and unbiased standard deviation (ddof=1, as torch.std) over the seeds",
            "training": "molssl.tasks.finetune: Adam, shuffled train split, NaN labels masked out of the loss, "
                        "batches of a single graph skipped" + ("; regression targets standardized on the train split"
                                                                 if not info.is_classification else ""),
        },
        "versions": versions(),
        "updated": now(),
    })  # fmt: skip
    record["summary"] = summarize(record)
    save_record(out, record)

    evaluator = Evaluator(info.name)
    train_idx, valid_idx, test_idx = data.split
    scaler = TargetScaler.fit(labels[train_idx]) if not info.is_classification else None  # as finetune fits it
    for seed in config.seeds:
        if str(seed) in record["seeds"]:
            continue
        start = time.perf_counter()
        official = OfficialScores(evaluator, info, graphs, labels, (valid_idx, test_idx), scaler, config.eval_batch_size)
        result = _train_seed(seed, make_model, graphs, data.split, config, official, progress)
        best, last = official.best, official.history[-1]
        # exactly: both score the same raw outputs (molssl.eval.metrics equals the Evaluator to the last bit)
        matches = (result.best_epoch, result.valid_at_best, result.test_at_best) == (best["epoch"], best["valid"], best["test"])
        if not matches:
            logger.warning("seed %d: OGB's Evaluator on the raw outputs selects epoch %d (valid %.6f, test %.6f); molssl's protocol "
                           "scores epoch %d (valid %.6f, test %.6f); the Evaluator's numbers are recorded", seed, best["epoch"],
                           best["valid"], best["test"], result.best_epoch, result.valid_at_best, result.test_at_best)  # fmt: skip
        if save_predictions:
            (out / "predictions").mkdir(exist_ok=True)
            for part, idx in (("valid", valid_idx), ("test", test_idx)):
                np.save(out / "predictions" / f"seed{seed}_{part}.npy", official.best_predictions[part], allow_pickle=False)
                np.save(out / "predictions" / f"y_true_{part}.npy", labels[idx], allow_pickle=False)
        record["seeds"][str(seed)] = {
            "seed": seed, "best_epoch": best["epoch"], "valid": best["valid"], "test": best["test"],
            "valid_at_last_epoch": last["valid"], "test_at_last_epoch": last["test"],
            "protocol": {"best_epoch": result.best_epoch, "valid": result.valid_at_best, "test": result.test_at_best},
            "evaluator_matches_protocol": matches,
            "seconds": round(time.perf_counter() - start, 1), "hardware": hardware(device), "finished": now(),
            "history": official.history,
        }  # fmt: skip
        record["updated"] = now()
        record["summary"] = summarize(record)
        save_record(out, record)
        logger.info("%s seed %d: valid %.4f, test %.4f (best epoch %d, %.1f min)", info.name, seed, best["valid"],
                    best["test"], best["epoch"], (time.perf_counter() - start) / 60)  # fmt: skip
    return json_safe(record)



def _train_seed(seed: int, make_model: Callable[[], PropertyModel], graphs: Any, split: Any, config: OgbRunConfig,
                official: OfficialScores, progress: Callable[[dict], None] | None) -> Any:  # fmt: skip
    """One seed of ``finetune``, with ``official`` scoring the model it trains after every epoch."""

    def on_epoch(model: PropertyModel, epoch_record: dict) -> None:
        entry = official.score(model, epoch_record)
        if progress is not None:
            progress({"seed": seed, **entry})

    outcome, _ = finetune(make_model, graphs, official.labels, tuple(split), config.finetune_config((seed,)), on_epoch=on_epoch)
    return outcome.seeds[0]


__all__ = ["default_out", "run_ogb"]
