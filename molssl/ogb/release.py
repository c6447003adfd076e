"""Whether a local copy of an ogbg-mol* dataset is OGB's official release, and if not, why not.

A copy is called official only when nothing marks it as built elsewhere and everything the catalog
knows about the release matches: no ``molssl_build.json`` (molssl's own builds carry one), a release
note that does not disclaim the release, and the release's number of graphs. The number of tasks and
the release note's presence are enforced when the copy is read (``molssl.ogb.layout``). Where the
catalog does not know a release's size, the copy cannot be verified and is not called official: a
harness record on it says so, and its table says it is not a leaderboard result.
"""

from __future__ import annotations

from typing import Any, Mapping

from molssl.ogb.catalog import OgbDatasetInfo

#: the sentence molssl's writer puts in the release note of every copy it builds
DISCLAIMER = "not an official OGB release"


def not_official_because(info: OgbDatasetInfo, num_graphs: int, provenance: Mapping[str, Any] | None, release_note: str) -> tuple[str, ...]:
    """Every reason a copy is not (or cannot be verified as) the official release; empty when it is.

    Args:
        info: the catalog entry of the dataset the copy stands for.
        num_graphs: graphs in the copy.
        provenance: its ``molssl_build.json``, or None.
        release_note: the text of its ``RELEASE_v{version}.txt``.
    """
    reasons = []
    if provenance is not None:
        reasons.append(f"built by molssl (molssl_build.json) from {provenance.get('source', 'an unrecorded source')}")
    elif DISCLAIMER in release_note:
        reasons.append(f"its RELEASE_v{info.version}.txt says it is {DISCLAIMER}")
    if info.num_graphs is None:
        reasons.append(f"the catalog has no graph count of the official {info.name} release to check this copy against")
    elif num_graphs != info.num_graphs:
        reasons.append(f"{num_graphs:,} graphs, but the official {info.name} release has {info.num_graphs:,}")
    return tuple(reasons)


__all__ = ["DISCLAIMER", "not_official_because"]
