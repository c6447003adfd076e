"""Real molecules for the multimodal tests: a MOSES slice plus awkward ones (charged, stereo, salt, metal, bad rows)."""

from __future__ import annotations

import pytest

from tests.text.conftest import moses_slice

#: charged, stereo, salt (disconnected), aromatic heterocycle, single atom, metal ion; then rows no modality can represent
AWKWARD = ["C[N+](C)(C)C", "C[C@H](N)C(=O)O", "[Na+].[Cl-]", "c1ccncc1", "C", "[Cu+2]", "F/C=C/F"]
BAD = ["C1CC", "not_a_smiles"]


def write_corpus(path, n_moses: int = 48):
    """A SMILES file of ``n_moses`` MOSES molecules, the awkward ones and the bad rows (at known rows)."""
    smiles = list(moses_slice(n_moses)) + AWKWARD[:4] + [BAD[0]] + AWKWARD[4:] + [BAD[1]]
    path.write_text("SMILES\n" + "\n".join(smiles) + "\n")
    return path, smiles


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("multimodal") / "molecules.smi")


@pytest.fixture(scope="module")
def open_built(tmp_path_factory):
    """``open_built(path, modalities, **data_options)``: a built ``MultimodalSource``, caches under a temporary folder."""
    from molssl.multimodal.source import open_multimodal_source

    cache = tmp_path_factory.mktemp("cache")

    def build(path, modalities, **options):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MOLSSL_CACHE", str(cache))
            source = open_multimodal_source(path, {"depict_size": 32, **options})
            return source.with_modalities(modalities)

    return build
