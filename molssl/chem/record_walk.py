"""Find where every variable-length record of a chunk of byte strings starts, without a Python loop per record.

A molecule pickle stores its atoms (bonds, rings) as consecutive records whose lengths depend on their
own bytes, so record ``i + 1`` starts where record ``i`` ends: ``p[i + 1] = min(step(p[i]), limit)``. Two
walks give the same positions:

* lockstep (molecules with at most ``LOCKSTEP_MAX_RECORDS`` records): step ``k`` advances the ``k``-th
  record of every molecule that has one, so the Python loop runs once per record *index*, whatever the
  number of molecules. Cheapest for the many small molecules of a typical chunk.
* pointer doubling (longer molecules): ``step`` is evaluated at every byte of their pickles at once, giving
  each byte's would-be successor; squaring that map ``ceil(log2(n + 1))`` times yields records ``0..n`` of
  every molecule. The cost is ``O(bytes * log(records))`` numpy work and ``O(log(records))`` Python steps,
  so a 100,000-atom molecule costs milliseconds instead of 100,000 lockstep steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LOCKSTEP_MAX_RECORDS = 256
"""Molecules with more records than this are walked by pointer doubling (bounds the lockstep loop)."""

Step = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
"""``step(p) -> (q, bad)``: for records starting at byte positions ``p`` ([K] int64), where the next one
starts (``q``, [K], not yet clipped to the molecule's end) and the indices into ``p`` of records whose
bytes do not check out (``None`` when there are none)."""


def _lockstep(counts: np.ndarray, mols: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Order ``mols`` by decreasing record count and count the molecules still active at each step.

    Returns:
        order: [m] the molecules, most records first.
        active: for each step ``k``, the number of molecules with more than ``k`` records (a prefix
            of ``order``).
    """
    order = mols[np.argsort(-counts[mols], kind="stable")]
    c_sorted = counts[order]
    steps = int(c_sorted[0]) if len(c_sorted) else 0
    return order, np.searchsorted(-c_sorted, -np.arange(steps), side="left").tolist()


def _walk_lockstep(
    step: Step, cur: np.ndarray, limit: np.ndarray, counts: np.ndarray, ptr: np.ndarray,
    mols: np.ndarray, pos: np.ndarray, ok: np.ndarray,
) -> None:  # fmt: skip
    order, active = _lockstep(counts, mols)
    c_cur = cur[order]
    c_lim = limit[order]
    dst = ptr[order]
    for c in active:
        p = c_cur[:c]
        d = dst[:c]
        pos[d] = p
        d += 1
        q, bad = step(p)
        if bad is not None:
            ok[order[bad]] = False
        np.minimum(q, c_lim[:c], out=p)
    cur[order] = c_cur


def _walk_doubling(
    step: Step, cur: np.ndarray, limit: np.ndarray, counts: np.ndarray, ptr: np.ndarray,
    mols: np.ndarray, pos: np.ndarray, ok: np.ndarray,
) -> None:  # fmt: skip
    """Pointer doubling over the bytes ``cur[m]..limit[m]`` (inclusive) of each molecule ``m`` in ``mols``.

    Molecules are grouped by the number of doubling rounds they need, so that the [G, 2^rounds] table of
    chain positions of a group stays within twice its records.
    """
    rounds_of = np.ceil(np.log2(counts[mols] + 1)).astype(np.int64)
    for rounds in np.unique(rounds_of).tolist():
        group = mols[rounds_of == rounds]
        hi = limit[group]
        lo = np.minimum(cur[group], hi)  # a cursor past the end (damaged pickle) starts at the end
        size = hi - lo + 1
        base = np.zeros(len(group) + 1, dtype=np.int64)
        np.cumsum(size, out=base[1:])
        shift = lo - base[:-1]  # absolute byte position = local index + shift of its molecule
        shift_per_byte = np.repeat(shift, size)
        q, bad = step(np.arange(base[-1], dtype=np.int64) + shift_per_byte)
        jump = np.minimum(q, np.repeat(hi, size)) - shift_per_byte  # local index of each byte's successor
        chain = base[:-1, None]  # [G, 1]: record 0 of each molecule
        for r in range(rounds):  # chain[:, i] = jump^i(record 0): double the known prefix
            chain = np.concatenate([chain, jump[chain]], axis=1)
            if r + 1 < rounds:
                jump = jump[jump]
        n = counts[group]
        is_record = np.arange(chain.shape[1]) < n[:, None]  # [G, 2^rounds]
        chain_abs = chain + shift[:, None]
        pos[(ptr[group][:, None] + np.arange(chain.shape[1]))[is_record]] = chain_abs[is_record]
        cur[group] = chain_abs[np.arange(len(group)), n]
        if bad is not None:
            bad_byte = np.zeros(base[-1], dtype=bool)
            bad_byte[bad] = True
            ok[group[(bad_byte[chain] & is_record).any(axis=1)]] = False


def walk_records(
    step: Step, cur: np.ndarray, limit: np.ndarray, counts: np.ndarray, ptr: np.ndarray,
    mols: np.ndarray, pos: np.ndarray, ok: np.ndarray,
) -> None:  # fmt: skip
    """Store where each record of ``mols`` starts and move their cursors past their last record.

    Args:
        step: the record layout (see ``Step``).
        cur: [M] byte position of each molecule's first record; moved past its last one.
        limit: [M] end of each molecule's bytes (cursors never pass it).
        counts: [M] records per molecule; ptr: [M + 1] where each molecule's records go in ``pos``.
        mols: the molecules to walk.
        pos: [ptr[-1]] filled with the start of every record of ``mols``.
        ok: [M] cleared for molecules with a record that ``step`` reports bad.
    """
    long = counts[mols] > LOCKSTEP_MAX_RECORDS
    if not long.any():
        _walk_lockstep(step, cur, limit, counts, ptr, mols, pos, ok)
        return
    _walk_lockstep(step, cur, limit, counts, ptr, mols[~long], pos, ok)
    _walk_doubling(step, cur, limit, counts, ptr, mols[long], pos, ok)
