"""Tile indexing shared by the kernels: which segments or rows a program owns, and where their elements are.

Every kernel runs on a 2-D grid: axis 0 walks blocks of segments (CSR kernels) or of rows (atomic
scatter), axis 1 blocks of features. These ``@triton.jit`` helpers are inlined into the kernels, so
they cost nothing at run time; like ``reductions`` they use only Triton builtins and are defined with
the kernels, so they always match the kernels' mode (compiled or interpreted).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def program_block(num_items, num_features, BLOCK: tl.constexpr, BLOCK_F: tl.constexpr):
    """The items (segments or rows) of this program along grid axis 0 and its features along axis 1.

    Shapes:
        -> items: [BLOCK], item_mask: [BLOCK], features: [BLOCK_F], feature_mask: [BLOCK_F]
    """
    items = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    features = tl.program_id(1) * BLOCK_F + tl.arange(0, BLOCK_F)
    return items, items < num_items, features, features < num_features


@triton.jit
def tile_offsets(items, item_mask, features, feature_mask, num_features):
    """Element offsets of the ``[items, features]`` tile of a row-major ``[*, num_features]`` matrix.

    Shapes:
        items: [N], features: [F] -> offsets: [N, F] (int64), mask: [N, F]
    """
    offsets = items.to(tl.int64)[:, None] * num_features + features[None, :]
    return offsets, item_mask[:, None] & feature_mask[None, :]


@triton.jit
def segment_bounds(offsets_ptr, segments, segment_mask):
    """First row and row count of every segment, from the CSR offsets (0 rows past the last segment).

    Shapes:
        segments: [S] -> start: [S] (int64), length: [S] (int64)
    """
    start = tl.load(offsets_ptr + segments, mask=segment_mask, other=0).to(tl.int64)
    end = tl.load(offsets_ptr + segments + 1, mask=segment_mask, other=0).to(tl.int64)
    return start, end - start


@triton.jit
def segment_step(
    step, start, length, perm_ptr, features, feature_mask, num_features,
    HAS_PERM: tl.constexpr, BLOCK_E: tl.constexpr,
):  # fmt: skip
    """Rows ``step`` to ``step + BLOCK_E`` of every segment (read through ``perm`` when ``HAS_PERM``).

    Shapes:
        start: [S], length: [S], features: [F] -> offsets: [S, E, F] (int64), mask: [S, E, F]
    """
    position = step + tl.arange(0, BLOCK_E)  # [E]
    row_mask = position[None, :] < length[:, None]  # [S, E]
    rows = start[:, None] + position[None, :]
    if HAS_PERM:
        rows = tl.load(perm_ptr + rows, mask=row_mask, other=0).to(tl.int64)
    offsets = rows[:, :, None] * num_features + features[None, None, :]
    return offsets, row_mask[:, :, None] & feature_mask[None, None, :]


@triton.jit
def row_segments(index_ptr, rows, row_mask, num_segments):
    """Segment id of every row, and which rows have one in ``[0, num_segments)`` (the others are masked out).

    Shapes:
        rows: [E] -> segment: [E] (int64), in_range: [E]
    """
    segment = tl.load(index_ptr + rows, mask=row_mask, other=0).to(tl.int64)
    return segment, row_mask & (segment >= 0) & (segment < num_segments)
