"""The Open Graph Benchmark leaderboards for molecules (ogbg-mol*): data, protocol, records, tables.

``run_ogb("ogbg-molhiv", root="dataset")`` reads (or downloads) OGB's on-disk copy of a dataset, trains
the chosen encoder on the official scaffold split under the leaderboard's rules and writes a resumable
JSON record; ``report.markdown_table(records)`` turns records into the leaderboard's table.

Modules: ``catalog`` (dataset metadata), ``layout`` (reading and checking OGB's files), ``cache`` (the
checksummed cache of parsed files), ``release`` (is a copy the official release?), ``download``, ``writer``
(writing molecules in OGB's layout), ``features``; a run: ``run_config`` (``OgbRunConfig``), ``model_init``
(encoder, features and pretrained weights of a run, parameter counts), ``scoring`` (OGB's Evaluator after
every epoch), ``record`` (the resumable ``record.json``), ``harness`` (``run_ogb``, the protocol); ``report``.
"""

from __future__ import annotations

from molssl.ogb.catalog import OGB_MOL_DATASETS, OgbDatasetInfo, get_ogb_dataset
from molssl.ogb.harness import run_ogb
from molssl.ogb.layout import OgbDataError, OgbDataset, OgbLayoutError, read_ogb_dataset
from molssl.ogb.record import RecordMismatchError, load_record
from molssl.ogb.report import markdown_table
from molssl.ogb.run_config import OGB_ENCODERS, OgbRunConfig
from molssl.ogb.writer import build_ogb_dataset, write_ogb_dataset

__all__ = [
    "OGB_ENCODERS", "OGB_MOL_DATASETS", "OgbDataError", "OgbDataset", "OgbDatasetInfo", "OgbLayoutError", "OgbRunConfig",
    "RecordMismatchError", "build_ogb_dataset", "get_ogb_dataset", "load_record", "markdown_table", "read_ogb_dataset",
    "run_ogb", "write_ogb_dataset",
]  # fmt: skip
