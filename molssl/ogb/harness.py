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

import dataclasses
import json
import logging
import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from molssl.data.corpus import PathLike, file_digest
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.ogb.catalog import OgbDatasetInfo, get_ogb_dataset
from molssl.ogb.download import ensure_ogb_dataset
from molssl.ogb.features import (
    FULL,
    SIMPLE,
    build_graphs,
    features_of_scheme,
    normalize_features,
    scheme_for,
)
from molssl.ogb.layout import OgbDataError, OgbDataset, read_ogb_dataset
from molssl.output_folder import OutputLayout, clear_outputs
from molssl.tasks.finetune import FinetuneConfig, finetune, predict_graphs, resolve_device
from molssl.tasks.model import PredictorConfig, PropertyModel, count_parameters
from molssl.tasks.target_scaler import TargetScaler

logger = logging.getLogger(__name__)

RECORD_FORMAT = "molssl-ogb-run"
RECORD_VERSION = 1
RECORD_FILE = "record.json"
TABLE_FILE = "leaderboard.md"
#: what a run writes into its folder (what ``overwrite`` replaces)
OGB_OUTPUTS = OutputLayout("molssl ogb run", "leaderboard run", names=(RECORD_FILE, TABLE_FILE, "predictions"),
                           finished=(RECORD_FILE,))  # fmt: skip

#: the encoders of OGB's examples (``--gnn``) and their sage/gat siblings: name -> (conv, virtual node)
OGB_ENCODERS: dict[str, tuple[str, bool]] = {
    f"{conv}{suffix}": (conv, suffix == "-virtual") for conv in ("gin", "gcn", "sage", "gat") for suffix in ("", "-virtual")
}
_DISPLAY = {"gin": "GIN", "gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}
DEFAULT_ENCODER = "gin-virtual"  # the default of OGB's example script


@dataclass(frozen=True, kw_only=True)
class OgbRunConfig:
    """Everything that determines a harness run's numbers (plain data; seeds aside, a resumed run must match).

    Attributes:
        dataset: an ogbg-mol* name (``"ogbg-molhiv"``; ``"molhiv"`` is accepted).
        encoder: a key of ``OGB_ENCODERS``; default ``"gin-virtual"``, or the checkpoint's with ``init``.
        init: an encoder (or property-predictor) checkpoint to start from; its scheme picks the features.
        features: ``"full"`` (OGB's 9/3 features; default), ``"simple"`` (OGB's ``--feature simple``) or
            a molssl scheme name (SMILES of ``mapping/mol.csv.gz`` featurized by molssl).
        num_layers, emb_dim, jk, residual: the encoder's (default 5, 300, "last", False, or the
            checkpoint's with ``init``; giving a different value than the checkpoint's is an error).
        dropout: dropout of the encoder (0.5, as the baselines).
        readout: graph pooling (``mean``, OGB's default; ``sum``, ``max``, ``attention``, ``set2set``).
        epochs, batch_size, lr, weight_decay, mode, last_k, encoder_lr: the fine-tuning protocol
            (``molssl.tasks.finetune.FinetuneConfig``).
        seeds: the seeds, or their number N for seeds 0..N-1 (the leaderboard asks for 10).
        eval_batch_size: batch size when scoring (does not change the numbers).
    """

    dataset: str
    encoder: str | None = None
    init: str | None = None
    features: str | None = None
    num_layers: int | None = None
    emb_dim: int | None = None
    jk: str | None = None
    residual: bool | None = None
    dropout: float = 0.5
    readout: str = "mean"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    mode: str = "full"
    last_k: int = 1
    encoder_lr: float | None = None
    seeds: tuple[int, ...] | int = 10
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        from molssl.nn.readout import get_readout

        object.__setattr__(self, "dataset", get_ogb_dataset(self.dataset).name)
        seeds = self.seeds
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ValueError(f"seeds must be >= 1 (or a list of seeds), got {seeds}")
            seeds = tuple(range(seeds))
        seeds = tuple(int(s) for s in seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be non-empty and distinct, got {seeds}")
        object.__setattr__(self, "seeds", seeds)
        if self.encoder is not None and self.encoder not in OGB_ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; valid encoders: {', '.join(OGB_ENCODERS)}")
        if self.features is not None:
            object.__setattr__(self, "features", normalize_features(self.features))
        if self.init is not None:
            object.__setattr__(self, "init", str(self.init))
        get_readout(self.readout)
        self.finetune_config((0,))  # validates epochs, lr, mode, ...

    def finetune_config(self, seeds: Sequence[int]) -> FinetuneConfig:
        info = get_ogb_dataset(self.dataset)
        return FinetuneConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, encoder_lr=self.encoder_lr,
            weight_decay=self.weight_decay, mode=self.mode, last_k=self.last_k, seeds=tuple(seeds),
            metric=info.eval_metric, eval_batch_size=self.eval_batch_size,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "seeds": list(self.seeds)}


class RecordMismatchError(ValueError):
    """The output folder holds a run of another configuration, which a resumed run must not mix into."""


class _OfficialScores:
    """Scores the model being trained with OGB's ``Evaluator`` after every epoch, as the official loop does.

    The Evaluator sees the raw outputs (logits for classification, values in the label units for
    regression), and the epoch of best validation score is the first best (``np.argmax`` /
    ``np.argmin`` over the epochs). Scoring in eval mode uses no randomness, so training is unchanged.
    """

    def __init__(self, evaluator: Any, info: OgbDatasetInfo, graphs: Any, labels: np.ndarray, parts: tuple[np.ndarray, np.ndarray],
                 scaler: TargetScaler | None, batch_size: int) -> None:  # fmt: skip
        self.evaluator, self.info, self.graphs, self.labels, self.scaler = evaluator, info, graphs, labels, scaler
        self.parts = {"valid": parts[0], "test": parts[1]}
        self.batch_size = batch_size
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_predictions: dict[str, np.ndarray] = {}

    def score(self, model: PropertyModel, epoch_record: Mapping[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"epoch": epoch_record["epoch"], "loss": epoch_record["loss"]}
        predictions = {}
        for part, idx in self.parts.items():
            outputs = predict_graphs(model, self.graphs, idx, self.batch_size)
            predictions[part] = outputs if self.scaler is None else self.scaler.inverse_transform(outputs)
            entry[part] = float(self.evaluator.eval({"y_true": self.labels[idx], "y_pred": predictions[part]})[self.info.eval_metric])
        entry["protocol_valid"], entry["protocol_test"] = epoch_record["valid"], epoch_record["test"]
        self.history.append(entry)
        if self.best is None or (entry["valid"] > self.best["valid"] if self.info.higher_is_better else entry["valid"] < self.best["valid"]):
            self.best, self.best_predictions = entry, predictions
        return entry


# --- resolving the run --------------------------------------------------------------------------


@dataclass
class PretrainedInit:
    """A checkpoint a run starts from: its encoder weights and what it records."""

    path: Path
    state: dict[str, torch.Tensor]
    kind: str
    extra: dict[str, Any]
    digest: str
    encoder_parameters: int


def resolve_model(config: OgbRunConfig) -> tuple[EncoderConfig, str, PretrainedInit | None]:
    """The encoder config, the feature set and the pretrained weights (``init``) of a run.

    Raises:
        SchemeMismatchError: ``config.features`` is not what the checkpoint was built for.
        ValueError: an explicit encoder option differs from the checkpoint's.
    """
    from molssl.checkpoint import CONFIG_FILE, load_checkpoint
    from molssl.nn.pretrained import load_encoder_state

    if config.init is None:
        features = config.features or FULL
        conv, virtual = OGB_ENCODERS[config.encoder or DEFAULT_ENCODER]
        encoder = EncoderConfig(
            scheme=scheme_for(features), conv=conv, virtual_node=virtual, num_layers=config.num_layers or 5,
            emb_dim=config.emb_dim or 300, jk=config.jk or "last", residual=bool(config.residual), dropout=config.dropout,
        )  # fmt: skip
        return encoder, features, None
    path = Path(config.init)
    ckpt_config, _, extra = load_checkpoint(path)
    stored, _ = load_encoder_state(path)
    features = config.features or features_of_scheme(stored.scheme)
    stored, state = load_encoder_state(path, expected_scheme=scheme_for(features))  # a scheme mismatch raises
    wanted = {"num_layers": config.num_layers, "emb_dim": config.emb_dim, "jk": config.jk, "residual": config.residual}
    if config.encoder is not None:
        wanted["conv"], wanted["virtual_node"] = OGB_ENCODERS[config.encoder]
    differing = {k: (v, getattr(stored, k)) for k, v in wanted.items() if v is not None and v != getattr(stored, k)}
    if differing:
        listed = ", ".join(f"{k}={given!r} (checkpoint: {have!r})" for k, (given, have) in differing.items())
        raise ValueError(f"the encoder of {path} differs from the one asked for: {listed}; leave these options out to use the checkpoint's")
    encoder = EncoderConfig.from_dict({**stored.to_dict(), "dropout": config.dropout})
    init = PretrainedInit(path=path, state=state, kind=str(ckpt_config.get("kind")), extra=dict(extra or {}),
                 digest=file_digest(path / CONFIG_FILE), encoder_parameters=count_parameters(GNNEncoder(stored)))  # fmt: skip
    return encoder, features, init


def encoder_name(encoder: EncoderConfig) -> str:
    """``"gin-virtual"`` etc. for an encoder config."""
    return f"{encoder.conv}{'-virtual' if encoder.virtual_node else ''}"


def _external_data(init: PretrainedInit | None, given: str | None) -> dict[str, Any]:
    if init is None:
        return {"used": given is not None, "description": given}
    description = given
    if description is None:
        pretraining = init.extra.get("pretraining") if isinstance(init.extra.get("pretraining"), Mapping) else {}
        trained_on = (init.extra.get("info") or {}).get("source") if init.kind == "property_predictor" else None
        candidates = (init.extra.get("external_data"), *(pretraining.get(k) for k in ("data", "corpus", "dataset")),
                      f"labels of {trained_on}" if trained_on else None)  # fmt: skip
        for value in candidates:
            if isinstance(value, str) and value:
                description = value
                break
    if description is None:
        logger.warning("the checkpoint %s does not record its pretraining data; pass external_data= (the leaderboard asks for it)", init.path)
    return {"used": True, "description": description, "checkpoint": str(init.path), "checkpoint_kind": init.kind}


def _default_method(encoder: EncoderConfig, features: str, external: dict[str, Any], pretrained: bool) -> str:
    name = _DISPLAY.get(encoder.conv, encoder.conv.upper()) + ("-virtual" if encoder.virtual_node else "")
    if pretrained:
        name += f" (pre-trained on {external['description']})" if external.get("description") else " (pre-trained)"
    elif external.get("used"):
        name += f" (external data: {external['description']})"
    if features == SIMPLE:
        name += " (simple features)"
    elif features != FULL:
        name += f" (molssl {features} features)"
    return name


def parameter_counts(model: PropertyModel, features: str, init: PretrainedInit | None = None) -> dict[str, Any]:
    """The leaderboard's #Params (``all_stages``: every parameter of every training stage) and its parts.

    ``model`` counts every parameter of the fine-tuned model. With the ``full``/``simple`` features,
    ``reserved_embedding_rows`` are the embedding rows of the ogb schemes' mask tokens, which OGB's
    features never index; without them the count equals that of OGB's example model of the same
    configuration (e.g. GIN-virtual, 5 x 300, one task: 3,336,606 with OGB 1.3.6's feature sizes).
    With ``init``, the pretraining stage's count comes from the checkpoint's ``extra["num_parameters"]``
    (its parameters beyond the shared encoder are added), else it is flagged as unknown.
    """
    from molssl.nn.embeddings import CategoricalEmbedding

    total = count_parameters(model)
    reserved = 0
    if features in (FULL, SIMPLE):  # the ogb schemes' mask-token rows, which OGB's features never index
        reserved = sum(len(m.vocab) * m.dim for m in model.modules() if isinstance(m, CategoricalEmbedding))
    out: dict[str, Any] = {"model": total, "reserved_embedding_rows": reserved, "model_without_reserved_rows": total - reserved,
                           "pretraining_stage": None, "all_stages": total}  # fmt: skip
    if init is not None:
        stage = init.extra.get("num_parameters")
        if isinstance(stage, int) and not isinstance(stage, bool) and stage >= init.encoder_parameters:
            out["pretraining_stage"] = stage
            out["all_stages"] = total + stage - init.encoder_parameters  # the encoder is shared by both stages
        else:
            out["pretraining_stage_unknown"] = True
    return out


# --- environment --------------------------------------------------------------------------------


def _cpu_model() -> str:
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
    return f"{_cpu_model()} (CPU, {os.cpu_count()} cores, {threads} torch thread{'' if threads == 1 else 's'})"


def versions() -> dict[str, str]:
    import ogb
    import rdkit
    import sklearn
    import torch_geometric

    from molssl import __version__

    return {"molssl": __version__, "ogb": ogb.__version__, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "rdkit": rdkit.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__, "python": platform.python_version()}  # fmt: skip


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- the record ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities become None, numpy scalars Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    text = json.dumps(_plain(document), indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def _check_scorable(data: OgbDataset, labels: np.ndarray) -> None:
    if not data.info.is_classification:
        return
    for part, idx in zip(("train", "valid", "test"), data.split):
        y = labels[idx]
        if not any(((y[:, t] == 1).any() and (y[:, t] == 0).any()) for t in range(y.shape[1])):
            raise OgbDataError(
                f"{data.directory}: no task has both classes in the {part} split, so {data.info.metric_display} is "
                "undefined there; the split or labels are not usable"
            )


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
    _check_scorable(data, labels)
    predictor = PredictorConfig(encoder=encoder, readout=config.readout, task_type=info.molssl_task_type, task_names=data.task_names)
    def make_model() -> PropertyModel:
        model = PropertyModel(predictor)
        if init is not None:
            model.encoder.load_state_dict(init.state, strict=True)
        return model.to(device)

    external = _external_data(init, external_data)
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
    record = _open_record(out / RECORD_FILE, fingerprint)
    num_params = parameter_counts(make_model(), features, init)
    record.update({
        "out": str(out), "dataset": info.name, "metric": info.eval_metric, "task_type": info.task_type, "num_tasks": info.num_tasks,
        "method": method or record.get("method") or _default_method(encoder, features, external, init is not None),
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
        "updated": _now(),
    })  # fmt: skip
    record["summary"] = summarize(record)
    _save(out, record)

    evaluator = Evaluator(info.name)
    train_idx, valid_idx, test_idx = data.split
    scaler = TargetScaler.fit(labels[train_idx]) if not info.is_classification else None  # as finetune fits it
    for seed in config.seeds:
        if str(seed) in record["seeds"]:
            continue
        start = time.perf_counter()
        official = _OfficialScores(evaluator, info, graphs, labels, (valid_idx, test_idx), scaler, config.eval_batch_size)
        result = _train_seed(seed, make_model, graphs, labels, data.split, config, official, progress)
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
            "seconds": round(time.perf_counter() - start, 1), "hardware": hardware(device), "finished": _now(),
            "history": official.history,
        }  # fmt: skip
        record["updated"] = _now()
        record["summary"] = summarize(record)
        _save(out, record)
        logger.info("%s seed %d: valid %.4f, test %.4f (best epoch %d, %.1f min)", info.name, seed, best["valid"],
                    best["test"], best["epoch"], (time.perf_counter() - start) / 60)  # fmt: skip
    return _plain(record)


def _open_record(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The record at ``path`` to resume (its fingerprint must match), or a new one."""
    if not path.exists():
        return {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, "created": _now(), "seeds": {}}
    record = load_record(path)
    old, new = _plain(record.get("fingerprint", {})), _plain(fingerprint)
    if old != new and not record.get("seeds"):
        logger.info("%s: replacing a record of another configuration that holds no finished seed", path)
        return {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, "created": _now(), "seeds": {}}
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


def _train_seed(seed: int, make_model: Callable[[], PropertyModel], graphs: Any, labels: np.ndarray, split: Any,
                config: OgbRunConfig, official: _OfficialScores, progress: Callable[[dict], None] | None) -> Any:  # fmt: skip
    """One seed of ``finetune``, with ``official`` scoring the model it trains after every epoch."""
    built: list[PropertyModel] = []  # finetune builds the model; keep a handle to score it

    def make_tracked_model() -> PropertyModel:
        built.append(make_model())
        return built[-1]

    def on_epoch(epoch_record: dict) -> None:
        entry = official.score(built[-1], epoch_record)
        if progress is not None:
            progress({"seed": seed, **entry})

    outcome, _ = finetune(make_tracked_model, graphs, labels, tuple(split), config.finetune_config((seed,)), progress=on_epoch)
    return outcome.seeds[0]


def _save(out: Path, record: dict[str, Any]) -> None:
    from molssl.ogb.report import markdown_table

    _write_json(out / RECORD_FILE, record)
    (out / TABLE_FILE).write_text(markdown_table([_plain(record)]) + "\n")


__all__ = [
    "DEFAULT_ENCODER", "OGB_ENCODERS", "OgbRunConfig", "PretrainedInit", "RecordMismatchError", "default_out", "encoder_name",
    "hardware", "load_record", "parameter_counts", "resolve_model", "run_ogb", "summarize", "versions",
]  # fmt: skip
