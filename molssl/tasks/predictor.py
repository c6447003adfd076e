"""``PropertyPredictor``: from a CSV of labeled molecules to a saved model and predictions in a few lines.

    predictor = PropertyPredictor(encoder="gin").fit("bbbp", epochs=100, seeds=(0, 1, 2))
    predictor.metrics_["test_at_best_valid"]           # {"mean": ..., "std": ...}
    predictor.save("bbbp-gin")
    PropertyPredictor.load("bbbp-gin").predict(["CCO", "c1ccccc1O"])   # DataFrame, one row per input
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import weakref
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from molssl.checkpoint import CheckpointError, load_weights, read_checkpoint, reading_checkpoint, save_checkpoint
from molssl.chem.featurize import featurize_many
from molssl.chem.standardize import check_standardizer, standardize_smiles
from molssl.data.labeled import featurize_table
from molssl.data.labeled_source import load_labeled_table
from molssl.tasks.ensemble import pack_members, pop_members
from molssl.tasks.fit_outputs import assess_fit, build_member
from molssl.tasks.prediction_columns import prediction_frame
from molssl.nn.encoder import EncoderConfig
from molssl.nn.encoders import kind_of
from molssl.nn.onednn import use_onednn_linears
from molssl.nn.pretrained import checkpoint_in, load_encoder_state, recorded_preprocessing
from molssl.peft import state_sha256
from molssl.tasks.finetune import FinetuneConfig, finetune
from molssl.tasks.fit_plan import fit_plan
from molssl.tasks.model import ModelFactory, PredictorConfig, PropertyModel, count_parameters, set_trainable
from molssl.tasks.predict_graphs import outputs_to_predictions, predict_graphs, resolve_device
from molssl.tasks.finetune_modes import peft_config
from molssl.tasks.peft_checkpoint import DELTA_KIND, delta_state, save_delta
from molssl.tasks.target_scaler import TargetScaler
from molssl.text.inputs import model_inputs, molecule_scheme, text_encoder_config
from molssl.vision.molecule_inputs import image_encoder_config, is_image_encoder
from molssl.zoo import resolve_pretrained

logger = logging.getLogger(__name__)


def _encoder_of_kind(pretrained: str | os.PathLike, kind: str) -> str | os.PathLike:
    """``pretrained`` as given, or, where it is a multimodal run, its encoder of ``kind`` (what the model records).

    Raises:
        CheckpointError: a multimodal run with no encoder of ``kind`` (its encoders listed).
    """
    resolved = resolve_pretrained(pretrained)
    part = checkpoint_in(resolved, kind)
    return part if part != checkpoint_in(resolved) else pretrained


PREDICTOR_KIND = "property_predictor"

_ONEDNN_READY: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()  # models whose Linears predict has made OneDNNLinear


class PropertyPredictor:
    """Predict molecular properties with a GNN: fit (optionally from a pretrained encoder), save, load, predict.

    Args:
        encoder: conv name (``"gin"``, ``"gcn"``, ``"sage"``, ``"gat"``) or a full ``EncoderConfig``;
            ``"smiles_transformer"`` (tokens); ``"resnet"`` or ``"vit"`` (RDKit depictions, drawn and normalized
            as the pretrained image encoder that ``fit`` must start from records).
        scheme: featurization scheme (ignored when ``encoder`` is a config, which records its own).
        readout: graph pooling (``mean``, ``sum``, ``max``, ``attention``, ``set2set``).
        device: where the model trains and predicts: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``
            (CUDA when present, else the CPU; the default). Batches are built on the CPU and follow the model.
        **encoder_options: other ``EncoderConfig`` fields (num_layers, emb_dim, jk, dropout (0.5 by
            default, the fine-tuning value of Hu et al.), virtual_node, residual).
    """

    def __init__(self, encoder: str | EncoderConfig = "gin", scheme: str = "hu", readout: str = "mean",
                 device: str | torch.device = "auto", **encoder_options: Any) -> None:  # fmt: skip
        text_encoder = text_encoder_config(encoder, encoder_options)  # a SMILES transformer (molssl.text)
        image_encoder = image_encoder_config(encoder, encoder_options)  # a ResNet or ViT on depictions (molssl.vision)
        if text_encoder is not None:
            self.encoder_config = text_encoder
        elif image_encoder is not None:
            self.encoder_config = image_encoder
        elif isinstance(encoder, EncoderConfig):
            self.encoder_config = encoder
        else:
            encoder_options.setdefault("dropout", 0.5)
            self.encoder_config = EncoderConfig(scheme=scheme, conv=encoder, **encoder_options)
        self.readout = readout
        self.device = resolve_device(device)
        self.model_: PropertyModel | None = None
        self.scaler_: TargetScaler | None = None
        self.metrics_: dict[str, Any] | None = None
        self.info_: dict[str, Any] = {}
        self.members_: list[PropertyModel] = []  # every seed's model when fitted with ensemble=True
        self.fit_predictions_ = None  # after fit: every molecule's split, targets and prediction (a DataFrame)

    # --- training -------------------------------------------------------------------------------

    def fit(
        self,
        data: Any,
        *,
        smiles_column: str | None = None,
        target_columns: Sequence[str] | None = None,
        task_type: str | None = None,
        split: str = "scaffold",
        split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        split_seed: int = 0,
        pretrained: str | os.PathLike | None = None,
        config: FinetuneConfig | None = None,
        progress: Callable[[dict], None] | None = None,
        sanitize: str = "strict",
        atom_order: str = "canonical",
        ensemble: bool = False,
        standardize: str | None = None,
        jobs: int = 1,
        threads: int | None = None,
        on_plan: Callable[[dict], None] | None = None,
        **finetune_options: Any,
    ) -> "PropertyPredictor":
        """Featurize, split, and fine-tune under the literature protocol; keep the best-validation model.

        Args:
            data: a CSV path, a ``LabeledTable`` or a MoleculeNet name (e.g. ``"bbbp"``).
            smiles_column, target_columns, task_type: for CSV input (detected when omitted).
            split: a registered splitter (``molssl.data.splits_registry.SPLITTERS``): ``"scaffold"``
                (deterministic, as pretrain-gnns/OGB), ``"random_scaffold"``, ``"random"``, ``"stratified"``
                (by the first task), or an out-of-distribution one (``"size"``, ``"scaffold_cluster"``,
                ``"property_range"``, ``"low_data"``) with its default options.
            split_fractions, split_seed: fractions and seed of the split.
            pretrained: an encoder (or predictor) checkpoint directory to start from, or a zoo name
                (``molssl.zoo``, e.g. ``"hu2020/gcn_supervised_contextpred"``); its scheme must
                match. The encoder architecture then comes from the checkpoint (dropout from here). A
                multimodal (``clip_align``) run folder stands for its aligned encoder of this predictor's
                kind: ``encoders/graph`` for a GNN, ``encoders/smiles`` for ``encoder="smiles_transformer"``,
                ``encoders/image`` for ``encoder="resnet"`` (or ``"vit"``).
            config: a ``FinetuneConfig``; or pass its fields as keyword arguments (epochs, lr, ...).
            progress: called after every epoch with ``{"seed", "epoch", "loss", "train", "valid", "test"}``.
            sanitize: ``"strict"`` (default) or ``"lenient"``: also keep molecules that fail only RDKit's
                valence check (hypervalent atoms current RDKit rejects and the older literature kept), so a
                protocol can match the literature's molecule counts; they are listed in ``info_["lenient"]``.
            atom_order: ``"canonical"`` (default) featurizes every molecule in RDKit's canonical atom order, so
                all spellings of a molecule get the same prediction (RDKit's chirality tags depend on the order
                atoms are written); ``"input"`` keeps the SMILES's order, as pretrain-gnns and OGB do (their
                protocols). Recorded in the model; ``predict`` applies the same.
            jobs: seeds trained at once, each in its own process; the results equal ``jobs=1``'s.
            threads: torch threads per seed process when ``jobs > 1`` (default: this process's divided among them).
            on_plan: called once before training with the plan (``molssl.tasks.fit_plan``: molecules, detected
                task type and why, split sizes, epochs x seeds, trainable parameters, device).
            ensemble: keep every seed's selected model (two or more seeds); ``predict`` then gives their mean and,
                per task, the spread over seeds (``<task>_std``), chemprop's ensemble uncertainty. Otherwise the best seed's.
            standardize: ``"largest_fragment"`` keeps each molecule's parent fragment (strips salts and
                solvents, RDKit's ``LargestFragmentChooser``); recorded in the model, so ``predict`` applies it.

        After fitting, ``metrics_`` also holds every reported metric per task on the test split (which tasks
        a metric left out, why, and the trivial baseline: ``molssl.tasks.finetune_report``), ``info_`` the
        detected task type and why, the temperatures that calibrate a classifier's probabilities (fitted on
        validation) and the training domain, and ``fit_predictions_`` every molecule's prediction and split.
        """
        from molssl.allocator import keep_freed_memory
        from molssl.data.splits_registry import get_splitter

        check_standardizer(standardize)
        keep_freed_memory()

        cfg = config or FinetuneConfig(**{**finetune_options, "seeds": tuple(finetune_options.get("seeds", (0,)))})
        if ensemble and len(cfg.seeds) < 2:
            raise ValueError(f"an ensemble needs two or more seeds (--seeds 0 1 2; Python: seeds=(0, 1, 2)), got seeds "
                             f"{list(cfg.seeds)}: one model has no spread to give as an uncertainty")  # fmt: skip
        table = load_labeled_table(data, smiles_column, target_columns, task_type)
        given_smiles = list(table.smiles)  # the file's SMILES, as predictions.csv shows them (parents beside them)
        standardized = standardize_smiles(table.smiles, standardize)
        if standardized.changed:
            table = dataclasses.replace(table, smiles=standardized.smiles)
        pretrained_state: dict[str, torch.Tensor] | None = None
        preprocessing = None  # an image model's depiction size, channels and normalization, as its encoder records
        if pretrained is not None:
            pretrained = _encoder_of_kind(pretrained, kind_of(self.encoder_config))
        if pretrained is not None and not isinstance(self.encoder_config, EncoderConfig):  # the checkpoint's vocabulary comes along
            enc_config, pretrained_state = load_encoder_state(resolve_pretrained(pretrained))
            if type(enc_config) is not type(self.encoder_config):
                raise ValueError(f"{pretrained}: holds a {type(enc_config).__name__}, not a {type(self.encoder_config).__name__}")
            if is_image_encoder(enc_config):
                preprocessing = recorded_preprocessing(read_checkpoint(checkpoint_in(resolve_pretrained(pretrained))).config)
                self.encoder_config = enc_config
            else:
                self.encoder_config = dataclasses.replace(enc_config, dropout=self.encoder_config.dropout)
        elif pretrained is not None:
            enc_config, pretrained_state = load_encoder_state(resolve_pretrained(pretrained), expected_scheme=self.encoder_config.scheme)
            self.encoder_config = EncoderConfig.from_dict({**enc_config.to_dict(), "dropout": self.encoder_config.dropout})
        if is_image_encoder(self.encoder_config) and preprocessing is None:
            raise ValueError(f"a {kind_of(self.encoder_config)} model reads depictions drawn and normalized as its pretrained "
                             "encoder records: give pretrained= (--pretrained) an image encoder checkpoint or a multimodal run")  # fmt: skip
        scheme = molecule_scheme(self.encoder_config)
        result = featurize_table(table, scheme.name, sanitize=sanitize, on_error="skip", atom_order=atom_order)
        kept = result.indices
        labels = table.labels[kept]
        smiles = [table.smiles[i] for i in kept.tolist()]
        fractions = dict(zip(("frac_train", "frac_valid", "frac_test"), split_fractions))
        train, valid, test = get_splitter(split)(smiles, labels, seed=split_seed, sanitize=sanitize, **fractions)
        peft = peft_config(cfg.mode, cfg.peft)  # a PEFT mode's modules are part of the model (and its checkpoint)
        predictor_config = PredictorConfig(encoder=self.encoder_config, readout=self.readout,
                                           task_type=table.task_type, task_names=tuple(table.task_names), num_classes=table.num_classes,
                                           peft=peft.to_dict() if peft is not None else None)  # fmt: skip

        make_model = ModelFactory(predictor_config, pretrained_state, None if pretrained is None else str(pretrained))
        if on_plan is not None:
            planned = make_model()
            set_trainable(planned, "full" if cfg.mode == "lp_ft" else cfg.mode, cfg.last_k)  # lp_ft ends fully trainable
            on_plan(fit_plan(
                source=table.source, task_type=table.task_type, task_type_reason=table.task_type_reason, task_names=table.task_names,
                molecules=len(table.smiles), featurized=len(kept), split=split, sizes=(len(train), len(valid), len(test)),
                epochs=cfg.epochs, seeds=cfg.seeds, mode=cfg.mode, model=planned, device=self.device, jobs=jobs,
                pretrained=None if pretrained is None else str(pretrained),
            ))  # fmt: skip
        inputs = model_inputs(self.encoder_config, result.graphs, smiles, preprocessing)
        outcome, scaler = finetune(make_model, inputs, labels, (train, valid, test), cfg, progress=progress,
                                   task_names=table.task_names, source=table.source, device=self.device, jobs=jobs,
                                   threads=threads)  # fmt: skip
        model = PropertyModel(predictor_config)
        model.load_state_dict(outcome.best_state)
        self.model_ = model.to(self.device).eval()
        self.scaler_ = scaler
        self.metrics_ = outcome.summary()
        self.info_ = {
            "source": table.source,
            "molecules": len(table.smiles),
            "skipped": [s.to_dict() for s in result.skipped],
            "sanitize": sanitize,
            "atom_order": atom_order,
            "lenient": [r.to_dict() for r in result.lenient],
            "split": {"method": split, "fractions": list(split_fractions), "seed": split_seed,
                      "sizes": [len(train), len(valid), len(test)]},  # fmt: skip
            "finetune": cfg.to_dict(),
            "pretrained": str(pretrained) if pretrained is not None else None,
            "pretrained_sha256": state_sha256(pretrained_state) if pretrained_state is not None else None,
            "num_parameters": count_parameters(model),
            "best_seed": outcome.best_seed,
            "preprocessing": preprocessing,
        }
        assessment = assess_fit(predictor_config, outcome.states, [s.seed for s in outcome.seeds].index(outcome.best_seed),
                                result.graphs, labels, (train, valid, test), scaler, ensemble=ensemble,
                                smiles=[given_smiles[i] for i in kept.tolist()], parents=smiles if check_standardizer(standardize) != "none" else None,
                                extra={c: [v[i] for i in kept.tolist()] for c, v in table.extra.items()}, scheme=scheme,
                                device=self.device, inputs=inputs)  # fmt: skip
        self.members_ = assessment.members
        self.fit_predictions_ = assessment.predictions
        self.metrics_["test_report"] = assessment.report
        self.info_.update({
            "task_type": f"{table.task_type} ({table.task_type_reason})" if table.task_type_reason else table.task_type,
            "num_classes": table.num_classes,
            "standardize": check_standardizer(standardize),
            "standardized": [{"index": i, "smiles": s, "parent": standardized.smiles[i]} for i, s in standardized.changed],
            "ensemble": {"seeds": [s.seed for s in outcome.seeds]} if ensemble else None,
            "calibration": assessment.calibration, "domain": assessment.domain.to_dict(),
        })  # fmt: skip
        return self

    # --- persistence ----------------------------------------------------------------------------

    def _require_model(self) -> PropertyModel:
        if self.model_ is None:
            raise RuntimeError("this PropertyPredictor has no model yet: call fit() or PropertyPredictor.load()")
        return self.model_

    def save(self, directory: str | os.PathLike, delta: bool = False) -> Path:
        """Write the model to ``directory``: ``config.json`` (plain data) + ``model.safetensors``.

        With ``delta=True`` only what fine-tuning changed is written (PEFT modules, changed biases and
        norms, readout, head) with the name and weights digest of the pretrained encoder it started
        from (``molssl.tasks.peft_checkpoint``); ``load`` needs that encoder again.

        Raises:
            ValueError: ``delta=True`` for a model fitted without ``pretrained``.
            BaseMismatchError: the pretrained encoder's weights changed since ``fit``.
        """
        model = self._require_model()
        if delta and self.members_:
            raise ValueError("an ensemble is saved whole: save(delta=False) (a delta checkpoint holds one model)")
        extra = {"target_scaler": self.scaler_.to_dict() if self.scaler_ is not None else None,
                 "metrics": self.metrics_, "info": self.info_}  # fmt: skip
        if delta:
            if self.members_:
                raise ValueError("a delta checkpoint holds one model; this predictor is an ensemble: save(delta=False)")
            base = self.info_.get("pretrained")
            if base is None:
                raise ValueError("a delta checkpoint needs the pretrained encoder the model was fitted from; this one was "
                                 "trained from scratch: save(delta=False)")  # fmt: skip
            return save_delta(model, directory, base, extra, expected_sha256=self.info_.get("pretrained_sha256"))
        config = {"kind": PREDICTOR_KIND, "scheme": molecule_scheme(model.config.encoder).to_dict(), "predictor": model.config.to_dict()}
        if self.members_:  # the other seeds' models ride along under ensemble.<seed>.
            best = self.info_.get("best_seed")
            others = {s: m.state_dict() for s, m in zip(self.info_["ensemble"]["seeds"], self.members_) if s != best}
            return save_checkpoint(directory, config, pack_members(model.state_dict(), others), extra=extra)
        return save_checkpoint(directory, config, model.state_dict(), extra=extra)

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str | torch.device = "auto",
             base: str | os.PathLike | None = None) -> "PropertyPredictor":  # fmt: skip
        """Load a predictor written by ``save`` (JSON + safetensors only; nothing is unpickled).

        ``directory`` may also be the output folder of ``molssl finetune`` (its ``model/`` is loaded).

        A delta checkpoint (``save(delta=True)``) is completed from its base encoder: ``base`` (a
        checkpoint directory or zoo name), by default the one it records; other base weights than the
        recorded ones are refused (``molssl.peft.BaseMismatchError``).

        A model whose replacing save was interrupted loads from the complete copy that save left
        (``molssl.checkpoint.read_checkpoint``, with a warning).

        Raises:
            CheckpointError: missing, damaged, edited or diverged (non-finite) checkpoint, another kind
                of checkpoint, or weights that do not fit the model its config describes.
        """
        found = read_checkpoint(checkpoint_in(directory))
        config, extra = found.config, found.extra or {}
        other_members = pop_members(found.state_dict)
        state = found.state_dict if config.get("kind") != DELTA_KIND else delta_state(found, base)
        if config.get("kind") not in (PREDICTOR_KIND, DELTA_KIND):
            hint = " (a pretrained encoder: fine-tune it first, molssl finetune DATA --pretrained PATH)" if config.get("kind") == "encoder" else ""
            raise CheckpointError(f"{found.path}: checkpoint kind {config.get('kind')!r} is not a property predictor{hint}")
        with reading_checkpoint(found.path, "the property predictor's config"):
            predictor_config = PredictorConfig.from_dict(config["predictor"])
            scaler = extra.get("target_scaler")
            scaler = TargetScaler.from_dict(scaler) if scaler else None
        model = PropertyModel(predictor_config)
        load_weights(model, state, found.path)
        out = cls(encoder=predictor_config.encoder, readout=predictor_config.readout, device=device)
        out.model_ = model.to(out.device).eval()
        out.scaler_ = scaler
        out.metrics_ = extra.get("metrics")
        out.info_ = extra.get("info") or {}
        if other_members:
            with reading_checkpoint(found.path, "the ensemble's members"):
                others = {s: build_member(predictor_config, state, found.path, out.device) for s, state in other_members.items()}
                out.members_ = [out.model_ if s == out.info_["best_seed"] else others[s] for s in out.info_["ensemble"]["seeds"]]
        return out

    # --- prediction -----------------------------------------------------------------------------

    @property
    def task_names(self) -> tuple[str, ...]:
        return self._require_model().config.task_names

    def predict(
        self, smiles: Sequence[str], batch_size: int = 128, workers: int = 1, precision: str = "fp32", sanitize: str = "strict"
    ):
        """Predict every input; returns a pandas DataFrame with one row per input, in input order.

        Columns: ``smiles``, ``parent_smiles`` (what was featurized, for a model fitted with ``standardize``), one column per task (probability of the positive class for
        classification, the most probable class for multiclass with ``<task>_prob_<c>`` per class, the
        value in the training units for regression), ``<task>_std`` (an ensemble's spread over seeds),
        ``<task>_calibrated`` (temperature-scaled probability, classifiers), ``domain`` (why a molecule
        lies outside the training domain: unseen elements, heavy-atom count outside the training range;
        "" inside) and ``error``: empty for molecules that were predicted, the reason otherwise (their
        task columns are NaN). The model's standardizer (``fit(standardize=)``) is applied first, and its
        atom order (``fit(atom_order=)``) is used.

        Args:
            smiles: the molecules.
            batch_size: molecules per forward pass.
            workers: featurization processes.
            precision: ``"fp32"`` (exact, the default) or ``"bf16"`` (bfloat16 autocast: about 2x
                faster on CPUs with native bf16 and on GPUs; outputs differ from fp32 at about the
                third significant digit).
            sanitize: ``"strict"`` or ``"lenient"`` (also predict molecules that fail only RDKit's valence
                check; see ``fit``).
        """
        import pandas as pd

        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        model = self._require_model()
        smiles = list(smiles)
        parents = standardize_smiles(smiles, self.info_.get("standardize")).smiles
        result = featurize_many(parents, scheme=molecule_scheme(model.config.encoder).name, on_error="skip", workers=workers,
                                sanitize=sanitize, atom_order=self.info_.get("atom_order", "input"))  # models before the option: input order
        members = self.members_ or [model]
        outputs = np.zeros((len(members), 0, model.config.num_tasks, *((model.config.num_classes,) if model.config.num_classes else ())))
        if len(result):
            autocast = contextlib.nullcontext()  # fp32 outside any autocast: no context to build (~50 us a call)
            if precision == "bf16" or torch.is_autocast_enabled(self.device.type):  # fp32 inside a caller's autocast: off
                autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
            for member in members:
                if member not in _ONEDNN_READY:  # one walk per model, not per call (a Linear added later only runs on F.linear)
                    use_onednn_linears(member)  # exact fp32 inference on oneDNN where it is faster; training unaffected
                    _ONEDNN_READY.add(member)
            with torch.inference_mode(), autocast:
                inputs = model_inputs(model.config.encoder, result.graphs, [parents[i] for i in result.indices.tolist()],
                                      self.info_.get("preprocessing"))  # fmt: skip
                outputs = np.stack([predict_graphs(member, inputs, batch_size=batch_size) for member in members])
        return prediction_frame(smiles, result, outputs.astype(np.float64), model.config, self.scaler_, self.info_,
                                parents=parents if check_standardizer(self.info_.get("standardize")) != "none" else None)  # fmt: skip

    def predict_file(self, path: str | os.PathLike, smiles_column: str | None = None, **options: Any):
        """``predict`` the molecules of a file (SMILES/CSV/TSV or SD, optionally .gz), keeping its other columns.

        The file's ID and other columns (an SD file's title as ``name`` and its data fields) come right
        after ``smiles``; a record RDKit cannot read gets its reason in ``error``. ``options`` go to ``predict``.
        """
        from molssl.data.molecule_table import read_molecule_table

        table = read_molecule_table(path, smiles_column)
        frame = self.predict(table.smiles, **options)
        first = 2 if "parent_smiles" in frame.columns else 1  # the file's columns after the molecule's SMILES
        for position, (name, values) in enumerate(table.extra.items(), start=first):
            frame.insert(position, name if name not in frame.columns else f"input_{name}", values)
        for index, reason in table.read_errors.items():
            frame.loc[index, "error"] = reason
        return frame
