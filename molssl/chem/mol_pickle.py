"""Vectorized reader of RDKit's binary molecule pickle (``Chem.Mol.ToBinary``).

Calling RDKit's per-atom accessors from Python costs about a microsecond per call, which dominates
featurization. ``Mol.ToBinary`` writes every molecule's atoms, bonds and ring info in C++ (~15 us for a
drug-like molecule); this module decodes the pickles of a whole chunk of molecules at once with numpy:
``record_walk`` finds where every atom (bond, ring) record starts, in lockstep across the small
molecules and by pointer doubling across the large ones, so the Python loop runs at most a few hundred
times per chunk whatever the chunk or the molecules' size, and every field is then decoded with
whole-chunk numpy gathers.

Supported format
----------------
Only the pickle versions in ``SUPPORTED_VERSIONS`` are decoded: pickle version 16.4.0, written by
RDKit 2026.09 (the version this reader was checked against, molecule by molecule, on >100,000
molecules). Any other version is not decoded and the caller must fall back to RDKit's accessors.

The layout read here (little-endian; ``T`` = ``uint8`` for molecules with at most 255 atoms, else
``int32``)::

    header   uint32 0xDEADBEEF, int32 0 (VERSION tag), int32 major, int32 minor, int32 patch,
             int32 num_atoms, int32 num_bonds, uint8 0x80, uint8 1 (BEGINATOM)
    atom     uint8 atomic_num, uint8 flags, int32 prop_flags, then the fields whose prop_flags bit is
             set, in bit order: (0) float32 mass [legacy], (1) int8 formal charge, (2) chiral tag,
             (3) hybridization [SP3 if absent], (4) explicit H count, (5) explicit valence,
             (6) implicit valence, (7) radical electrons, (8) uint32 isotope.
             flags: 0x40 aromatic, 0x20 no-implicit, 0x10 query, 0x08 atom map, 0x04 dummy label,
             0x02 monomer info, 0x80 coordinates [legacy].
             Then, if flagged: query block; map number (uint8 24, int8 map, and int32 map if the int8
             is -1); dummy label (uint8 44, uint32 length, bytes); monomer info.
    uint8 11 (BEGINBOND)
    bond     T begin, T end, uint8 flags, [uint8 bond type if flags & 0x08, else SINGLE],
             [uint8 bond dir if flags & 0x04], [uint8 stereo, uint8 n, n * T stereo atoms if
             flags & 0x02], [query block if flags & 0x10], [two strings if flags & 0x01].
             flags: 0x40 aromatic, 0x20 conjugated.
    rings    uint8 tag (20 SSSR, 66 symmetrized SSSR, 67 fast, 68 other; absent if the ring info is
             not initialized), uint32 num_rings, per ring: T size, size * T atom indices.
    rest     stereo groups, substance groups, conformers, properties, uint8 22 (ENDMOL): not read.

Derived columns, as RDKit's accessors compute them: ``GetTotalNumHs()`` = explicit H count + implicit
valence (0 on no-implicit atoms); ``GetTotalDegree()`` = bonds at the atom + ``GetTotalNumHs()``;
``IsInRing()`` = the atom is in one of the pickled SSSR rings. The pickle stores the formal charge as a
signed byte, as RDKit's SMILES parser does: a charge outside [-128, 127] set with ``SetFormalCharge``
is read back wrapped (the one value this reader cannot tell from a valid one).

Records the vectorized reader does not decode mark their molecule as not decoded (``ok == False``)
instead of producing numbers: query atoms or bonds, monomer (PDB residue) info, legacy coordinate or
mass fields, bond end-point strings, unknown flag bits, ring info that is absent or not SSSR /
symmetrized SSSR (RDKit's ``Atom.IsInRing`` recomputes the SSSR in that case), and any record whose
length or tags do not check out. Map numbers, dummy labels, isotopes and molecules of more than 255
atoms are decoded.
"""

from __future__ import annotations

import functools
import struct
from functools import partial
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from molssl.chem.record_walk import walk_records

SUPPORTED_VERSIONS: frozenset[tuple[int, int, int]] = frozenset({(16, 4, 0)})
"""Pickle versions ``(major, minor, patch)`` whose layout this reader was checked against."""

PICKLE_OPTIONS = Chem.PropertyPickleOptions.NoConformers
"""``ToBinary`` options used: no properties and no conformers (smaller pickles, same atom/bond data).
The enum itself, not its int: Boost.Python tries the other overloads before converting an int, which
costs about 60 us per call (more than the pickling)."""


@functools.cache
def installed_pickle_version() -> tuple[int, int, int]:
    """The pickle version ``(major, minor, patch)`` that the installed RDKit writes."""
    return struct.unpack_from("<3i", Chem.MolFromSmiles("C").ToBinary(PICKLE_OPTIONS), 8)


def installed_version_supported() -> bool:
    """Whether this reader decodes the pickles of the installed RDKit (else everything falls back)."""
    return installed_pickle_version() in SUPPORTED_VERSIONS


_HEADER_LEN = 30
_PAD = 4096  # zero bytes after the last pickle: every read is within PAD bytes of a clipped cursor
_MAX_LABEL = 1024  # longest dummy label decoded; longer ones fall back

# Tags (MolPickler::Tags).
_BEGINATOM = 1
_BEGINBOND = 11
_BEGINPROPS = 18
_BEGINSSSR = 20
_ENDMOL = 22
_BEGINCONFS = 23
_ATOM_MAPNUMBER = 24
_ATOM_DUMMYLABEL = 44
_BEGINATOMPROPS = 58
_BEGINBONDPROPS = 59
_BEGINSGROUP = 61
_BEGINSTEREOGROUP = 62
_BEGINCONFS_DOUBLE = 64
_BEGINSYMMSSSR = 66

# Tags that may follow the ring info.
_AFTER_RINGS = np.zeros(256, dtype=bool)
_AFTER_RINGS[
    [_ENDMOL, _BEGINCONFS, _BEGINCONFS_DOUBLE, _BEGINPROPS, _BEGINATOMPROPS, _BEGINBONDPROPS, _BEGINSGROUP,
     _BEGINSTEREOGROUP]
] = True  # fmt: skip

_SP3 = int(Chem.HybridizationType.SP3)
_SINGLE = int(Chem.BondType.SINGLE)

# Atom flags (bits 6 aromatic and 5 no-implicit are read as shifts).
_AF_MAP = 0x08
_AF_LABEL = 0x04
_AF_UNSUPPORTED = 0x80 | 0x10 | 0x02 | 0x01  # coordinates, query, monomer info, unused bit

# Bond flags (bits 5 conjugated, 3 type, 2 dir are read as shifts).
_BF_STEREO = 0x02
_BF_UNSUPPORTED = 0x80 | 0x10 | 0x01  # unused bit, query, end-point strings


def _atom_tables() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Atom record layout as a function of the low byte of prop_flags.

    Returns:
        length: [256] bytes from the record start to the end of the data fields of bits 0..7 (the
            isotope, bit 8, adds 4 more).
        offsets: bit -> [256] offset of that field from the start of the data fields.
    """
    p0 = np.arange(256)
    length = np.zeros(256, dtype=np.int64)
    offsets = {}
    for bit in range(8):
        offsets[bit] = length.copy()
        length += (4 if bit == 0 else 1) * ((p0 >> bit) & 1)
    return 6 + length, offsets


_ATOM_LEN, _ATOM_OFF = _atom_tables()


def _bond_tables(width: int) -> tuple[np.ndarray, np.ndarray]:
    """Bond record layout as a function of the flags byte, for atom indices of ``width`` bytes.

    Returns:
        length: [256] bytes before the stereo atoms (which add ``n * width``).
        n_offset: [256] offset of the stereo-atom count ``n`` from the record start (if flags & 0x02).
    """
    f = np.arange(256)
    typ, dirn, stereo = (f >> 3) & 1, (f >> 2) & 1, (f >> 1) & 1
    length = 2 * width + 1 + typ + dirn + 2 * stereo
    n_offset = 2 * width + 1 + typ + dirn + 1
    return length.astype(np.int64), n_offset.astype(np.int64)


_BOND_TABLES = {1: _bond_tables(1), 4: _bond_tables(4)}

# The layout as plain Python values, for walking one molecule's pickle (``record_cache``).
HEADER_LEN = _HEADER_LEN
BEGINBOND = _BEGINBOND
SSSR_TAGS = frozenset({_BEGINSSSR, _BEGINSYMMSSSR})
AFTER_RING_TAGS = frozenset(np.flatnonzero(_AFTER_RINGS).tolist())
ATOM_RECORD_LENGTH: tuple[int, ...] = tuple(_ATOM_LEN.tolist())
"""Bytes of an atom record by the low byte of its prop_flags (an isotope adds 4; map numbers and dummy
labels add more)."""
BOND_RECORD_LENGTH: tuple[int, ...] = tuple(_bond_tables(1)[0].tolist())
"""Bytes of a bond record of a molecule with at most 255 atoms, by its flags byte, up to its stereo
atoms: when ``flags & BOND_STEREO``, the last of these bytes is the number of stereo atoms that follow."""
BOND_STEREO = _BF_STEREO


def plain_atom_record(record: bytes) -> bool:
    """Whether ``record`` is a whole atom record whose length its prop_flags alone give.

    Plain: no map number, dummy label, query, monomer info or legacy field, and no prop_flags bit
    beyond 0..8; then the record has ``ATOM_RECORD_LENGTH[prop_flags & 0xFF]`` bytes, plus 4 if the
    isotope bit (8) is set.
    """
    if len(record) < 6:
        return False
    flags, pf0, pf1 = record[1], record[2], record[3]
    if flags & (_AF_UNSUPPORTED | _AF_MAP | _AF_LABEL) or pf0 & 1 or pf1 & 0xFE or record[4] or record[5]:
        return False
    return len(record) == ATOM_RECORD_LENGTH[pf0] + 4 * (pf1 & 1)


def plain_bond_record(record: bytes) -> bool:
    """Whether ``record`` (a bond record of a molecule with at most 255 atoms, from its flags byte up to
    its stereo atoms) is whole and has no query or end-point strings."""
    return len(record) >= 1 and not record[0] & _BF_UNSUPPORTED and len(record) == BOND_RECORD_LENGTH[record[0]] - 2


def installed_header() -> bytes | None:
    """The first 20 bytes (magic, version tag, version) of the installed RDKit's pickles, or None if this
    reader does not support its version."""
    if not installed_version_supported():
        return None
    return struct.pack("<Ii3i", 0xDEADBEEF, 0, *installed_pickle_version())


@dataclass(frozen=True)
class PickleChunk:
    """Pickles of a chunk of molecules, concatenated into one zero-padded byte buffer.

    Shapes (M molecules, N bytes of pickles):
        buf: [N + PAD] uint8
        start, end: [M] byte range of each pickle in ``buf``
    """

    buf: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def from_mols(cls, mols: Sequence[Chem.Mol]) -> PickleChunk:
        """Pickle ``mols`` with ``PICKLE_OPTIONS`` and concatenate the pickles."""
        to_binary = Chem.Mol.ToBinary
        options = PICKLE_OPTIONS
        return cls.from_pickles([to_binary(mol, options) for mol in mols])

    @classmethod
    def from_pickles(cls, pickles: Sequence[bytes]) -> PickleChunk:
        """Concatenate pickles already made by ``Mol.ToBinary``."""
        lengths = np.fromiter(map(len, pickles), dtype=np.int64, count=len(pickles))
        end = np.cumsum(lengths)
        buf = np.frombuffer(b"".join(pickles) + bytes(_PAD), dtype=np.uint8)
        return cls(buf=buf, start=end - lengths, end=end)


@dataclass(frozen=True)
class DecodedChunk:
    """Tables decoded from a chunk of pickles; the rows of molecules with ``ok == False`` are garbage.

    Every molecule has as many atom and bond rows as its pickle header says (none if the header itself
    is not one this reader supports), so that the caller can drop the rows of the molecules that must
    be read some other way.

    Shapes (M molecules, A / B atoms / bonds over all of them):
        ok: [M] bool
        atom_ptr, bond_ptr: [M + 1]
        atoms[column]: [A] int64; bonds[column]: [B] int64 (the columns of ``mol_tables``)
    """

    ok: np.ndarray
    atom_ptr: np.ndarray
    bond_ptr: np.ndarray
    atoms: dict[str, np.ndarray]
    bonds: dict[str, np.ndarray]


def _ptr(counts: np.ndarray) -> np.ndarray:
    """Offsets [len(counts) + 1] of consecutive segments of the given lengths."""
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def _mark_bad(ok: np.ndarray, ptr: np.ndarray, bad_rows: np.ndarray) -> None:
    """Clear ``ok`` ([M]) for every molecule owning a row flagged in ``bad_rows`` ([ptr[-1]] bool)."""
    rows = np.flatnonzero(bad_rows)
    if rows.size:
        ok[np.searchsorted(ptr, rows, side="right") - 1] = False


def _read_index(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """The ``T`` (uint8 if ``width == 1``, else little-endian int32) at each of ``pos``, as int64."""
    if width == 1:
        return buf[pos].astype(np.int64)
    b = [buf[i:][pos].astype(np.int64) for i in range(4)]
    value = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
    return np.where(value >= 1 << 31, value - (1 << 32), value)


def _read_indices(buf: np.ndarray, pos: np.ndarray, wide: np.ndarray | None) -> np.ndarray:
    """``_read_index`` with the width of each position given by ``wide`` ([len(pos)] bool; None: all 1)."""
    if wide is None:
        return _read_index(buf, pos, 1)
    out = np.empty(len(pos), dtype=np.int64)
    out[~wide] = _read_index(buf, pos[~wide], 1)
    out[wide] = _read_index(buf, pos[wide], 4)
    return out


def _read_u32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The little-endian uint32 at each of ``pos``, as int64."""
    value = _read_index(buf, pos, 4)
    return np.where(value < 0, value + (1 << 32), value)


def _atom_step(buf: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Where the atom record after each of ``p`` starts, and which of ``p`` have optional sections with wrong tags.

    A ``record_walk.Step`` once bound to ``buf``: isotopes, map numbers and dummy labels lengthen a record,
    and are looked at only on the few records having them.
    """
    flags = buf[p + 1]
    q = p + _ATOM_LEN[buf[p + 2]]
    pf1 = buf[p + 3]  # prop_flags bits 8..15: only bit 8 (isotope) is valid
    rare = (flags & (_AF_MAP | _AF_LABEL)) | pf1
    if not rare.any():
        return q, None
    idx = np.flatnonzero(rare)
    qi = q[idx] + 4 * (pf1[idx] & 1).astype(np.int64)
    fl = flags[idx]
    has_map = (fl & _AF_MAP) != 0
    bad = has_map & (buf[qi] != _ATOM_MAPNUMBER)
    qi += has_map * (2 + 4 * (buf[qi + 1] >= 128))  # a negative int8 map: an int32 follows
    has_label = (fl & _AF_LABEL) != 0
    label_len = _read_u32(buf, qi + 1)
    bad |= has_label & ((buf[qi] != _ATOM_DUMMYLABEL) | (label_len > _MAX_LABEL))
    qi += has_label * (5 + np.minimum(label_len, _MAX_LABEL))
    q[idx] = qi
    return q, idx[bad] if bad.any() else None


def _bond_step(buf: np.ndarray, width: int, p: np.ndarray) -> tuple[np.ndarray, None]:
    """Where the bond record after each of ``p`` starts (atom indices of ``width`` bytes)."""
    length, n_offset = _BOND_TABLES[width]
    flags = buf[p + 2 * width]
    q = p + length[flags]
    stereo = flags & _BF_STEREO
    if stereo.any():
        idx = np.flatnonzero(stereo)
        q[idx] += width * buf[p[idx] + n_offset[flags[idx]]].astype(np.int64)
    return q, None


def _ring_step(buf: np.ndarray, width: int, p: np.ndarray) -> tuple[np.ndarray, None]:
    """Where the ring record after each of ``p`` starts (atom indices of ``width`` bytes)."""
    size = np.maximum(_read_index(buf, p, width), 0)
    return p + width * (size + 1), None


def _decode_atoms(buf: np.ndarray, pos: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Decode the atom records starting at ``pos``.

    ``buf[k:][pos]`` reads ``buf[pos + k]`` without an index temporary (fresh memory is expensive).

    Returns:
        fields: [A] arrays: atomic_num, formal_charge, chiral_tag, hybridization, num_radical_electrons,
            is_aromatic (int64) and num_hs (uint8: explicit + implicit Hs, what ``GetTotalNumHs`` gives).
        bad: [A] bool, records with something this reader does not decode.
    """
    flags = buf[1:][pos]
    pf0 = buf[2:][pos]
    bad = flags & _AF_UNSUPPORTED
    bad |= pf0 & 1
    bad |= buf[3:][pos] & 0xFE
    bad |= buf[4:][pos]
    bad |= buf[5:][pos]
    data = buf[6:]
    pf0_idx = pf0.astype(np.intp)

    def field(bit: int) -> np.ndarray:
        """The one-byte field of prop_flags bit ``bit``, 0 where absent (uint8)."""
        if bit == 1:
            value = data[pos]
        else:
            where = _ATOM_OFF[bit][pf0_idx]
            where += pos
            value = data[where]
        value *= (pf0 >> bit) & 1
        return value

    charge = field(1).view(np.int8)
    chiral = field(2)
    hybrid = field(3)
    hybrid[((pf0 >> 3) & 1) == 0] = _SP3
    explicit_hs = field(4)
    implicit_hs = field(6)
    implicit_hs *= ((flags >> 5) & 1) ^ 1  # no implicit Hs on no-implicit atoms
    radicals = field(7)
    for col in (chiral, hybrid, explicit_hs, implicit_hs, radicals):  # written as signed chars
        bad |= col >> 7
    explicit_hs += implicit_hs  # both < 128: no overflow
    fields = {
        "atomic_num": buf[pos].astype(np.int64),
        "formal_charge": charge.astype(np.int64),
        "chiral_tag": chiral.astype(np.int64),
        "hybridization": hybrid.astype(np.int64),
        "num_radical_electrons": radicals.astype(np.int64),
        "is_aromatic": ((flags >> 6) & 1).astype(np.int64),
        "num_hs": explicit_hs,
    }
    return fields, bad != 0


def _decode_bonds(buf: np.ndarray, pos: np.ndarray, width: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Decode the bond records starting at ``pos`` ([B]), whose atom indices have ``width`` bytes.

    Returns:
        fields: [B] int64 arrays: begin, end (molecule-local), bond_type, bond_dir, bond_stereo,
            is_conjugated.
        bad: [B] bool, records with something this reader does not decode.
    """
    flags = buf[2 * width :][pos]
    data = buf[2 * width + 1 :]
    has_type = (flags >> 3) & 1
    has_dir = (flags >> 2) & 1
    bond_type = data[pos]
    bond_type[has_type == 0] = _SINGLE
    where = pos + has_type
    bond_dir = data[where]
    bond_dir *= has_dir
    where += has_dir
    bond_stereo = data[where]
    bond_stereo *= (flags >> 1) & 1
    bad = flags & _BF_UNSUPPORTED
    bad |= (bond_type | bond_dir | bond_stereo) >> 7  # written as signed chars
    fields = {
        "begin": _read_index(buf, pos, width),
        "end": _read_index(buf[width:], pos, width),
        "bond_type": bond_type.astype(np.int64),
        "bond_dir": bond_dir.astype(np.int64),
        "bond_stereo": bond_stereo.astype(np.int64),
        "is_conjugated": ((flags >> 5) & 1).astype(np.int64),
    }
    return fields, bad != 0


def _decode_bonds_mixed(
    buf: np.ndarray, pos: np.ndarray, wide: np.ndarray | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``_decode_bonds`` with the index width of each record given by ``wide`` ([B] bool; None: all 1)."""
    if wide is None:
        return _decode_bonds(buf, pos, 1)
    fields: dict[str, np.ndarray] = {}
    bad = np.zeros(len(pos), dtype=bool)
    for width, sel in ((1, ~wide), (4, wide)):
        part, part_bad = _decode_bonds(buf, pos[sel], width)
        for name, col in part.items():
            fields.setdefault(name, np.zeros(len(pos), dtype=np.int64))[sel] = col
        bad[sel] = part_bad
    return fields, bad


def decode_chunk(chunk: PickleChunk) -> DecodedChunk:
    """Decode the atom and bond tables of every molecule of ``chunk`` that this reader supports.

    Args:
        chunk: pickles written by ``Mol.ToBinary`` (any options: only the part up to the ring info is read).

    Returns:
        The tables; ``ok[m]`` is False for the molecules that must be read some other way.
    """
    buf, start, end = chunk.buf, chunk.start, chunk.end
    m = len(start)

    # Header.
    ok = (end - start) > _HEADER_LEN
    s = np.where(ok, start, 0)
    ok &= (_read_u32(buf, s) == 0xDEADBEEF) & (_read_u32(buf, s + 4) == 0)
    version = [_read_index(buf, s + off, 4) for off in (8, 12, 16)]
    supported = np.zeros(m, dtype=bool)
    for major, minor, patch in SUPPORTED_VERSIONS:
        supported |= (version[0] == major) & (version[1] == minor) & (version[2] == patch)
    ok &= supported
    nat = _read_index(buf, s + 20, 4)
    nb = _read_index(buf, s + 24, 4)
    ok &= (buf[s + 28] == 0x80) & (buf[s + 29] == _BEGINATOM)
    ok &= (nat >= 0) & (nb >= 0) & (6 * nat + 3 * nb < end - start)  # records are >= 6 and >= 3 bytes
    nat = np.where(ok, nat, 0)
    nb = np.where(ok, nb, 0)
    width = np.where(nat > 255, 4, 1)
    atom_ptr, bond_ptr = _ptr(nat), _ptr(nb)
    limit = end
    cur = np.where(ok, start + _HEADER_LEN, limit)
    mols = np.flatnonzero(ok)
    groups = [(w, g) for w, g in ((1, mols[width[mols] == 1]), (4, mols[width[mols] == 4])) if g.size]
    any_wide = len(groups) > 0 and groups[-1][0] == 4

    # Walk the records.
    atom_pos = np.zeros(atom_ptr[-1], dtype=np.int64)
    if mols.size:
        walk_records(partial(_atom_step, buf), cur, limit, nat, atom_ptr, mols, atom_pos, ok)
    ok &= buf[cur] == _BEGINBOND
    cur += 1
    bond_pos = np.zeros(bond_ptr[-1], dtype=np.int64)
    for w, g in groups:
        walk_records(partial(_bond_step, buf, w), cur, limit, nb, bond_ptr, g, bond_pos, ok)
    # Atom.IsInRing uses SSSR-type ring info as it is, and recomputes any other kind: only SSSR is read.
    tag = buf[cur]
    ok &= (tag == _BEGINSSSR) | (tag == _BEGINSYMMSSSR)
    nrings = _read_u32(buf, cur + 1)
    ok &= nrings <= 4 * nb + 16  # a sanity bound that keeps the loop short on garbage
    nrings = np.where(ok, nrings, 0)
    cur += 5
    ring_ptr = _ptr(nrings)
    ring_pos = np.zeros(ring_ptr[-1], dtype=np.int64)
    for w, g in groups:
        walk_records(partial(_ring_step, buf, w), cur, limit, nrings, ring_ptr, g, ring_pos, ok)
    ok &= (cur < limit) & _AFTER_RINGS[buf[cur]]

    # Decode the records.
    atoms, bad_atom = _decode_atoms(buf, atom_pos)
    _mark_bad(ok, atom_ptr, bad_atom)
    wide_bonds = np.repeat(width == 4, nb) if any_wide else None
    bonds, bad_bond = _decode_bonds_mixed(buf, bond_pos, wide_bonds)
    bond_nat = np.repeat(nat, nb)
    for name in ("begin", "end"):
        bad_bond |= (bonds[name] < 0) | (bonds[name] >= bond_nat)
    _mark_bad(ok, bond_ptr, bad_bond)

    # Ring membership.
    ring_mol = np.repeat(np.arange(m), nrings)
    ring_wide = width[ring_mol] == 4 if any_wide else None
    ring_size = _read_indices(buf, ring_pos, ring_wide)
    bad_ring = (ring_size <= 0) | (ring_size > nat[ring_mol])
    _mark_bad(ok, ring_ptr, bad_ring)
    ring_size[bad_ring] = 0
    member_ring = np.repeat(np.arange(len(ring_pos)), ring_size)
    member_rank = np.arange(len(member_ring)) - np.repeat(_ptr(ring_size)[:-1], ring_size)
    member_wide = ring_wide[member_ring] if any_wide else None
    member_step = 1 if member_wide is None else np.where(member_wide, 4, 1)
    member_pos = ring_pos[member_ring] + (member_rank + 1) * member_step
    member_atom = _read_indices(buf, member_pos, member_wide)
    member_mol = ring_mol[member_ring]
    bad_member = (member_atom < 0) | (member_atom >= nat[member_mol])
    if bad_member.any():
        ok[member_mol[bad_member]] = False
        member_atom, member_mol = member_atom[~bad_member], member_mol[~bad_member]
    in_ring = np.zeros(len(atom_pos), dtype=np.int64)
    in_ring[atom_ptr[member_mol] + member_atom] = 1

    # Degrees. Bonds of molecules that were not decoded may hold any index: count only in-range ones (a
    # stray in-range index only touches atoms of its own molecule, whose rows are dropped).
    bond_off = np.repeat(atom_ptr[:-1], nb)
    ends = np.concatenate([bonds["begin"] + bond_off, bonds["end"] + bond_off])
    if bad_bond.any():
        ends = ends[~np.concatenate([bad_bond, bad_bond])]
    total_degree = np.bincount(ends, minlength=len(atom_pos))
    num_hs = atoms.pop("num_hs")
    total_degree += num_hs

    atom_cols = {
        "atomic_num": atoms["atomic_num"],
        "formal_charge": atoms["formal_charge"],
        "chiral_tag": atoms["chiral_tag"],
        "hybridization": atoms["hybridization"],
        "total_num_hs": num_hs.astype(np.int64),
        "num_radical_electrons": atoms["num_radical_electrons"],
        "total_degree": total_degree,
        "is_aromatic": atoms["is_aromatic"],
        "is_in_ring": in_ring,
    }
    return DecodedChunk(ok=ok, atom_ptr=atom_ptr, bond_ptr=bond_ptr, atoms=atom_cols, bonds=bonds)
