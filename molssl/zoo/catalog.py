"""The catalog of named pretrained encoders: where each comes from, how to verify it, what it is.

Every entry names its original file (a pinned URL), the checksums that identify it, its licence and
citation, and the architecture and featurization scheme of the encoder it converts to. The entries of
Hu et al. (2020) are the encoders snap-stanford/pretrain-gnns released for chemistry: the nine
architecture-comparison files (GCN, GraphSAGE, GAT; embedded in ``datasets/pretrain-gnns/``) and the
nine GIN files (not embedded; fetched on request or given by the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from molssl.nn.encoder import EncoderConfig
from molssl.registry import Registry

PRETRAIN_GNNS_COMMIT = "8b20528a83b8869ce16451305b32c827258d19a3"
PRETRAIN_GNNS_RAW = f"https://raw.githubusercontent.com/snap-stanford/pretrain-gnns/{PRETRAIN_GNNS_COMMIT}/chem"
PRETRAIN_GNNS_LICENSE = "MIT, Copyright (c) 2020 snap-stanford (datasets/pretrain-gnns/LICENSE)"
HU2020_CITATION = (
    "Weihua Hu, Bowen Liu, Joseph Gomes, Marinka Zitnik, Percy Liang, Vijay Pande, Jure Leskovec. "
    "Strategies for Pre-training Graph Neural Networks. ICLR 2020. https://openreview.net/forum?id=HJlWWJSFDH"
)
#: what each pretraining strategy of Hu et al. (2020) did (section 5 of the paper)
HU2020_STRATEGIES = {
    "contextpred": "context prediction on 2M ZINC15 molecules",
    "infomax": "graph infomax (node-level) on 2M ZINC15 molecules",
    "edgepred": "edge prediction on 2M ZINC15 molecules",
    "masking": "attribute masking on 2M ZINC15 molecules",
    "supervised": "supervised multi-task pretraining on 456K ChEMBL molecules (1,310 assays)",
}


@dataclass(frozen=True)
class ZooEntry:
    """One named pretrained encoder.

    Attributes:
        name: the zoo name, ``"<paper>/<file stem>"`` (e.g. ``"hu2020/gcn_supervised_contextpred"``).
        arch: molssl conv of the encoder (``"gcn"``, ``"sage"``, ``"gat"``, ``"gin"``).
        strategy: the pretraining strategy, as the release names it (``"supervised_contextpred"``).
        url: the original file at a pinned commit.
        page: where a person finds the file and its context.
        sha256: the original file's sha256, or None where no trustworthy value is known.
        git_blob_sha1: the file's object id in the upstream git tree at the pinned commit.
        size: the file's size in bytes, or None if unknown.
        embedded: path of the embedded copy under ``datasets/`` (``molssl.data.embedded``), or None.
        converter: how the original is converted (``"pretrain-gnns"``: ``molssl.zoo.pretrain_gnns``).
        scheme: the featurization scheme the encoder needs.
        num_layers, emb_dim: the encoder's shape.
        conv_options: the converted encoder's ``EncoderConfig.conv_options``.
        license, citation: of the original weights.
    """

    name: str
    arch: str
    strategy: str
    url: str
    page: str
    sha256: str | None
    git_blob_sha1: str | None
    size: int | None
    embedded: str | None
    converter: str = "pretrain-gnns"
    scheme: str = "hu"
    num_layers: int = 5
    emb_dim: int = 300
    conv_options: tuple[tuple[str, Any], ...] = ()
    license: str = PRETRAIN_GNNS_LICENSE
    citation: str = HU2020_CITATION

    @property
    def file_name(self) -> str:
        """The original file's name."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def description(self) -> str:
        """The pretraining, in words."""
        parts = [HU2020_STRATEGIES[s] for s in ("contextpred", "infomax", "edgepred", "masking") if s in self.strategy]
        if self.strategy.startswith("supervised"):
            parts.append(HU2020_STRATEGIES["supervised"])
        return ", then ".join(parts)

    def encoder_config(self) -> EncoderConfig:
        """The config of the converted encoder (dropout 0: fine-tuning sets its own)."""
        return EncoderConfig(scheme=self.scheme, conv=self.arch, num_layers=self.num_layers, emb_dim=self.emb_dim,
                             jk="last", dropout=0.0, conv_options=dict(self.conv_options))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data (what ``molssl zoo show`` prints and converted checkpoints record)."""
        return {"name": self.name, "arch": self.arch, "strategy": self.strategy, "pretraining": self.description,
                "scheme": self.scheme, "num_layers": self.num_layers, "emb_dim": self.emb_dim,
                "conv_options": dict(self.conv_options), "url": self.url, "page": self.page, "sha256": self.sha256,
                "git_blob_sha1": self.git_blob_sha1, "size": self.size, "embedded": self.embedded,
                "converter": self.converter, "license": self.license, "citation": self.citation}  # fmt: skip


_ARCHITECTURE_FILES = {  # chem/model_architecture/: (sha256, git blob SHA-1, size)
    "gat_contextpred": ("de030068b3cb8b5d2d4da09fd377fac0a111f401904d3806104874e058bc4af8", "206a124bcbf3f3a32f27d61650f4c56397e7b024", 3931687),
    "gat_supervised": ("62edee2aaf82c82e24236fe0124d93d975c4cb7b5e01280bc63050c606f64541", "c6d3b3ead159768f5eefbd96ab77e361285b9d49", 3931687),
    "gat_supervised_contextpred": ("ad433c867915b166fbc98154d763eaa83fa53cd60bf3a3b0c2086a0ef7dc684e", "c44701db22d9261a9c6cdbb1f560fb21c53d5308", 3931687),
    "gcn_contextpred": ("ff1d9c5e5c198b8faf8af576c303808853e3f55a52aed7ae27964e3c8635a81a", "11d1815f41cbca02a4ba457f08211f319bb1e1fd", 2040025),
    "gcn_supervised": ("8fb73bcce4991d6778e7309474505fcf2e5ff69f5debf166a5e6b91edf3f1493", "ceec38e7569ac6efc24af47a62f65eb742fba02f", 2040025),
    "gcn_supervised_contextpred": ("49cf0465e623c14fc802cdc67b47cbb78326f43fc7991afe6a14e1ff471755d5", "6eecc9fa46331d5016060a8f75bfe9ac246c2fdd", 2040025),
    "graphsage_contextpred": ("63976e7795ae3ab46fc97c40a047ce1c4b13e243c2f8ef9125e78c7fabee9279", "1db4e11e17af0514f6bbea9444f5160940d1423d", 2040025),
    "graphsage_supervised": ("9e2572f66e4e3c6a21b1e897c642b545abc8c6cbab1d56888c37f963b0c6da4b", "fd51375f5fed325c79af8891a6522a7759224705", 2040025),
    "graphsage_supervised_contextpred": ("aca7caa7c15a0e478b57d5d2cca84d8bda6d4500614bd96486b84739bff3929b", "0b5199c51d0639a227142cf0b5607d86dbbc694a", 2040025),
}  # fmt: skip
# chem/model_gin/: git blob SHA-1 from the upstream tree (``git ls-tree``); no trustworthy sha256 is published
_GIN_FILES = {
    "contextpred": "60912ba5a4562639c0492dd3e446b2da5a828c2d",
    "edgepred": "2a5311ea63caa598130aec65c64bc0ae09779856",
    "infomax": "779a0924f02cc347d11b8c92f21ecfda289f7b70",
    "masking": "821fce4a9e77fc1a1794ee0859499d0087a56e5e",
    "supervised": "b0257d2181fcddf100db41bf982dc7dad1313ad5",
    "supervised_contextpred": "f2b12b211eace32c070c241b5047484f8fec9b7a",
    "supervised_edgepred": "2cae8e4b2207f8de1b2ec1ab25a1cdef29ab76a7",
    "supervised_infomax": "eda3919ca23386527aacf4480b0b49bdaaf4a963",
    "supervised_masking": "1f8de843feb5b51e73488a95096283028820583e",
}
_PAGE = "https://github.com/snap-stanford/pretrain-gnns/tree/master/chem/{}"
_REFERENCE_ARCH = {"gcn": "gcn", "graphsage": "sage", "gat": "gat"}


def _hu2020_entries() -> dict[str, ZooEntry]:
    entries = {}
    for stem, (sha256, blob, size) in _ARCHITECTURE_FILES.items():
        reference_arch, strategy = stem.split("_", 1)
        arch = _REFERENCE_ARCH[reference_arch]
        options = (("heads", 2), ("softmax", "pretrain_gnns_legacy")) if arch == "gat" else ()
        entries[f"hu2020/{stem}"] = ZooEntry(
            name=f"hu2020/{stem}", arch=arch, strategy=strategy, url=f"{PRETRAIN_GNNS_RAW}/model_architecture/{stem}.pth",
            page=_PAGE.format("model_architecture"), sha256=sha256, git_blob_sha1=blob, size=size,
            embedded=f"pretrain-gnns/{stem}.pth", conv_options=options,
        )  # fmt: skip
    for strategy, blob in _GIN_FILES.items():
        entries[f"hu2020/gin_{strategy}"] = ZooEntry(
            name=f"hu2020/gin_{strategy}", arch="gin", strategy=strategy, url=f"{PRETRAIN_GNNS_RAW}/model_gin/{strategy}.pth",
            page=_PAGE.format("model_gin"), sha256=None, git_blob_sha1=blob, size=None, embedded=None,
        )  # fmt: skip
    return entries


ZOO: Registry[ZooEntry] = Registry("pretrained encoder", _hu2020_entries(), plural="names in the zoo")


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the valid ones.
    """
    return ZOO[name]


def list_entries() -> list[ZooEntry]:
    """All entries, sorted by name."""
    return [ZOO[name] for name in sorted(ZOO)]


__all__ = ["PRETRAIN_GNNS_COMMIT", "ZOO", "ZooEntry", "get_entry", "list_entries"]
