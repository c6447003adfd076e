"""Named pretrained encoders: where they come from, how they are verified and converted, and loading them.

    from molssl.zoo import list_entries, load_pretrained
    encoder = load_pretrained("hu2020/gcn_supervised_contextpred")      # embedded copy, offline
    molssl.PropertyPredictor(encoder="gcn").fit("bbbp", pretrained="hu2020/gcn_supervised_contextpred")

``catalog`` lists the entries (source URL, checksums, licence, citation, architecture, scheme);
``pretrain_gnns`` converts the files of Hu et al. (2020) exactly; ``resolve`` finds or makes the converted
checkpoint (explicit file, cache, embedded copy, download on request); ``measured`` holds the transfer
results benchmarks/zoo_transfer.py recorded for each entry.
"""

from __future__ import annotations

from molssl.zoo.catalog import ZOO, ZooEntry, get_entry, list_entries
from molssl.zoo.checksums import git_blob_sha1, verify_source
from molssl.zoo.pretrain_gnns import ConversionError, convert_pretrain_gnns, read_pretrain_gnns_state
from molssl.zoo.resolve import cached_dir, load_pretrained, pretrained_dir, resolve_pretrained, zoo_home

__all__ = [
    "ZOO", "ConversionError", "ZooEntry", "cached_dir", "convert_pretrain_gnns", "get_entry", "git_blob_sha1",
    "list_entries", "load_pretrained", "pretrained_dir", "read_pretrain_gnns_state", "resolve_pretrained",
    "verify_source", "zoo_home",
]  # fmt: skip
