"""Default size limits on featurization inputs (no RDKit import: light enough for readers and configs).

Both bound the time and memory one input can take; neither is reached by a real drug-like or
MoleculeNet molecule. Pass None where they are taken to disable them.
"""

from __future__ import annotations

DEFAULT_MAX_ATOMS = 1000
"""Default ``max_atoms``: twice the largest MoleculeNet molecule (SIDER, 492 heavy atoms). Beyond it,
RDKit's ring perception alone takes from a tenth of a second to many seconds per molecule."""

DEFAULT_MAX_SMILES_LENGTH = 10_000
"""Default ``max_smiles_length``: room for ``DEFAULT_MAX_ATOMS`` atoms written with brackets and stereo
(SIDER's longest SMILES has 1,340 characters)."""
