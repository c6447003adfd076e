"""Resolve a zoo name to a converted encoder checkpoint: explicit file, cache, embedded copy, download.

For ``pretrained_dir("hu2020/gcn_supervised_contextpred")`` the places are tried in this order:

1. a file the caller names (``file=``): verified against the entry's checksums, converted, cached;
2. the cache, ``$MOLSSL_HOME/zoo/NAME`` (else ``$XDG_CACHE_HOME/molssl/zoo/NAME``, else
   ``~/.cache/molssl/zoo/NAME``): a converted checkpoint, used when it records this entry's source
   checksums and the current converter version (otherwise it is converted again);
3. an original downloaded earlier (``<cache>/sources/NAME.pth``), then the copy embedded in
   ``datasets/`` (``molssl.data.embedded``; offline): verified, converted, cached;
4. only when asked (``download=True``, ``molssl zoo fetch NAME``): the original from the entry's URL
   (``molssl.data.download``), verified, converted, cached.

Nothing downloads otherwise; a name that none of these resolves is an error that says how to get it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from molssl.checkpoint import CheckpointError, load_checkpoint
from molssl.data.download import ChecksumError, download
from molssl.data.embedded import embedded_file
from molssl.nn.encoder import GNNEncoder
from molssl.zoo.catalog import ZOO, ZooEntry, get_entry
from molssl.zoo.checksums import verify_source
from molssl.zoo.pretrain_gnns import CONVERTER_VERSION, convert_pretrain_gnns

logger = logging.getLogger(__name__)

HOME_ENV_VAR = "MOLSSL_HOME"


def zoo_home() -> Path:
    """The zoo's cache directory: ``$MOLSSL_HOME/zoo``, ``$XDG_CACHE_HOME/molssl/zoo`` or ``~/.cache/molssl/zoo``."""
    home = os.environ.get(HOME_ENV_VAR)
    if home:
        return Path(home) / "zoo"
    cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else Path.home() / ".cache") / "molssl" / "zoo"


def cached_dir(entry: ZooEntry) -> Path:
    """Where ``entry``'s converted checkpoint is cached."""
    return zoo_home() / entry.name


def _downloaded_source(entry: ZooEntry) -> Path:
    return zoo_home() / "sources" / f"{entry.name}.pth"


def _is_current(directory: Path, entry: ZooEntry) -> bool:
    """Whether ``directory`` holds ``entry`` converted from its verified original by this converter."""
    if not (directory / "config.json").is_file():
        return False
    try:
        config, _, extra = load_checkpoint(directory)
    except CheckpointError as exc:
        logger.warning("cached %s at %s is unreadable (%s); converting it again", entry.name, directory, exc)
        return False
    zoo, source = extra.get("zoo") or {}, extra.get("converted_from") or {}
    current = (
        zoo.get("name") == entry.name
        and zoo.get("source_git_blob_sha1") == entry.git_blob_sha1
        and (entry.sha256 is None or source.get("sha256") == entry.sha256)
        and source.get("converter_version") == CONVERTER_VERSION
        and config.get("encoder") == entry.encoder_config().to_dict()
    )
    if not current:
        logger.info("cached %s at %s is from another source or converter version; converting it again", entry.name, directory)
    return current


def _convert(entry: ZooEntry, source: Path, origin: str) -> Path:
    digests = verify_source(source, entry)
    zoo: dict[str, Any] = {**entry.to_dict(), "origin": origin, "source_git_blob_sha1": digests["git_blob_sha1"]}
    target = cached_dir(entry)
    convert_pretrain_gnns(source, entry.arch, target, extra={"zoo": zoo})
    logger.info("converted %s (%s, %s) into %s", entry.name, origin, source, target)
    return target


def _local_sources(entry: ZooEntry) -> list[tuple[str, Path]]:
    """The originals on this machine: an earlier download, then the embedded copy."""
    found = []
    downloaded = _downloaded_source(entry)
    if downloaded.is_file():
        found.append(("download", downloaded))
    if entry.embedded is not None:
        try:
            found.append(("embedded", embedded_file(entry.embedded)))
        except FileNotFoundError:
            pass
    return found


def _download(entry: ZooEntry, timeout: float) -> Path:
    dest = _downloaded_source(entry)
    download(entry.url, dest, sha256=entry.sha256, timeout=timeout)
    try:
        verify_source(dest, entry)  # the git blob id, for entries without a sha256
    except ChecksumError:
        dest.unlink(missing_ok=True)
        raise
    return dest


def pretrained_dir(name: str, *, file: str | os.PathLike | None = None, download: bool = False,
                   timeout: float = 60.0) -> Path:  # fmt: skip
    """The converted checkpoint directory of zoo entry ``name`` (``molssl.nn.pretrained`` loads it).

    Args:
        name: a zoo name (``molssl zoo list``).
        file: the entry's original file, already on this machine; verified against the entry.
        download: fetch the original from the entry's URL if no local copy resolves the name.
        timeout: seconds to wait for the server on each blocking operation of a download.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: nothing local resolves the name and ``download`` is off; says how to get it.
        ChecksumError: a given or downloaded file is not the entry's original.
    """
    entry = get_entry(name)
    if file is not None:
        return _convert(entry, Path(file), "file")
    target = cached_dir(entry)
    if _is_current(target, entry):
        return target
    for origin, source in _local_sources(entry):
        try:
            return _convert(entry, source, origin)
        except ChecksumError as exc:
            if origin != "download":
                raise
            logger.warning("removing a corrupt download of %s: %s", entry.name, exc)
            source.unlink(missing_ok=True)
    if download:
        return _convert(entry, _download(entry, timeout), "download")
    raise FileNotFoundError(
        f"pretrained encoder {name} is not on this machine (looked in the cache {target} and for an embedded "
        f"copy). Download it with `molssl zoo fetch {name}` (from {entry.url}) or "
        f"`molssl.zoo.load_pretrained({name!r}, download=True)`; or, with the file {entry.file_name} at hand, "
        f"`molssl zoo fetch {name} --file PATH` / `load_pretrained({name!r}, file=PATH)`"
    )


def load_pretrained(name: str, *, file: str | os.PathLike | None = None, download: bool = False,
                    timeout: float = 60.0) -> GNNEncoder:  # fmt: skip
    """The pretrained encoder ``name`` of the zoo, with its weights (see ``pretrained_dir`` for the arguments).

    Example:
        >>> encoder = load_pretrained("hu2020/gcn_supervised_contextpred")   # embedded, offline
    """
    from molssl.nn.pretrained import load_encoder

    return load_encoder(pretrained_dir(name, file=file, download=download, timeout=timeout))


def resolve_pretrained(value: str | os.PathLike) -> str | os.PathLike:
    """What ``pretrained=`` means: an existing path as given; a zoo name, its checkpoint (``pretrained_dir``).

    Raises:
        ValueError: ``value`` is neither an existing path nor a zoo name but starts like one (a typo).
    """
    text = os.fspath(value)
    if os.path.exists(text):
        return value
    if text in ZOO:
        return pretrained_dir(text)
    if text.split("/", 1)[0] in {n.split("/", 1)[0] for n in ZOO}:
        get_entry(text)  # raises, listing the valid names
    return value


__all__ = ["HOME_ENV_VAR", "cached_dir", "load_pretrained", "pretrained_dir", "resolve_pretrained", "zoo_home"]
