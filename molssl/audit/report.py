"""The audit report: plain data, written as Markdown, JSON and a heavy-atom histogram."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from molssl.audit.keys import MoleculeKeys

_SHOW = 20  # rows of long lists shown in the Markdown (the JSON has them all)


@dataclass(eq=False)
class AuditReport:
    """What ``molssl.audit`` found; ``to_dict`` is the JSON, ``to_markdown`` the readable report.

    Attributes:
        source, sha256: the corpus file and its digest.
        rows: data rows read.
        invalid: every row RDKit rejected: ``{"row", "smiles", "reason"}``; ``invalid_reasons`` counts reasons.
        duplicates: per key (``canonical``, ``inchikey``, ``flat``, ``skeleton``): rows repeating an earlier
            row's molecule, molecules seen more than once, example row groups.
        statistics: heavy-atom quantiles, net charges, fragments, elements, scaffolds.
        outliers: per rule: the rule, the count, the first rows.
        overlap: per downstream set: per part the molecules it has and how many the corpus holds (exact SMILES,
            InChIKey, exact = either, stereo-insensitive), its test scaffolds found in the corpus.
        matches: every corpus row matching a downstream molecule: ``{"row", "smiles", "dataset", "part", "match"}``.
        heavy_atoms: heavy-atom counts of the corpus and each set (for the figure; not in the JSON).
        timings: seconds per stage (reading, keys, downstream sets, InChIKeys, comparison) and whether the
            keys came from the cache.
        keys: the corpus's keys the report was made from (not in the JSON).
    """

    source: str
    sha256: str
    rows: int
    invalid: list[dict]
    invalid_reasons: dict[str, int]
    duplicates: dict[str, dict]
    statistics: dict[str, object]
    outliers: dict[str, dict]
    overlap: list[dict]
    matches: list[dict]
    heavy_atoms: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    keys: MoleculeKeys | None = field(default=None, repr=False)

    @property
    def invalid_count(self) -> int:
        return len(self.invalid)

    def to_dict(self) -> dict:
        from molssl import __version__

        return {"molssl_version": __version__, "source": self.source, "sha256": self.sha256, "rows": self.rows,
                "invalid_count": self.invalid_count, "invalid_reasons": self.invalid_reasons, "invalid": self.invalid,
                "duplicates": self.duplicates, "statistics": self.statistics, "outliers": self.outliers,
                "overlap": self.overlap, "matches": self.matches, "timings": self.timings}  # fmt: skip

    def to_markdown(self) -> str:
        lines = [f"# Corpus audit: `{Path(self.source).name}`", "",
                 f"{self.rows:,} rows read (sha256 `{self.sha256[:16]}...`); {self.invalid_count:,} invalid.", ""]  # fmt: skip
        if self.invalid:
            lines += ["## Invalid rows", "", "| reason | rows |", "|---|---|"]
            lines += [f"| {reason} | {count:,} |" for reason, count in self.invalid_reasons.items()]
            lines += ["", "| row | SMILES | reason |", "|---|---|---|"]
            lines += [f"| {r['row']} | `{r['smiles'][:60]}` | {r['reason']} |" for r in self.invalid[:_SHOW]]
            lines += [f"\n({self.invalid_count - _SHOW:,} more in audit.json)" if self.invalid_count > _SHOW else "", ""]
        lines += ["## Duplicates", "", "| key | rows repeating an earlier row | molecules seen more than once |", "|---|---|---|"]
        lines += [f"| {d['key']} | {d['duplicate_rows']:,} | {d['molecules']:,} |" for d in self.duplicates.values()]
        stats = self.statistics
        atoms = stats["heavy_atoms"]
        lines += ["", "## Statistics", "", f"- valid molecules: {stats['valid_molecules']:,}; distinct scaffolds: "
                  f"{stats['distinct_scaffolds']:,}; acyclic: {stats['acyclic_molecules']:,}",
                  "- heavy atoms: " + ", ".join(f"{k} {v:.4g}" for k, v in atoms.items()),  # type: ignore[union-attr]
                  f"- net charge: {stats['net_charge']}; molecules with charged atoms: {stats['molecules_with_charged_atoms']:,}",
                  f"- fragments: {stats['fragments']}",
                  f"- InChIKeys computed: {stats['inchikeys_computed']:,} (the other molecules' element-labelled heavy-atom "
                  "graph is shared by no other row and no downstream molecule, so their InChIKey can repeat or match nothing)",
                  f"- elements (molecules containing): {stats['elements']}", "",
                  "## Flagged molecules", "", "| flag | rule | molecules | first rows |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {name} | {o['rule']} | {o['count']:,} | {o['examples']} |" for name, o in self.outliers.items()]
        if self.overlap:
            lines += ["", "## Overlap with downstream sets", "",
                      "Molecules of each set (split by its splitter) that the corpus holds: exact = the same canonical "
                      "isomeric SMILES or InChIKey; stereo-insensitive = also the same SMILES without stereo/isotopes "
                      "or first InChIKey block. Test scaffolds: distinct Murcko scaffolds (no stereo) of the test part "
                      "found in the corpus, and the corpus rows carrying one.", "",
                      "| set | split | test: exact / stereo-insens. / of | valid: exact / s.-i. / of | train: exact / s.-i. / of "
                      "| test scaffolds in corpus | corpus rows with a test scaffold | corpus rows matching |",
                      "|---|---|---|---|---|---|---|---|"]  # fmt: skip
            for o in self.overlap:
                cells = [f"{p['exact']} / {p['stereo_insensitive']} / {p['molecules']}" for p in (o["parts"][n] for n in ("test", "valid", "train"))]
                scaffolds = o["test_scaffolds"]
                lines.append(f"| {o['dataset']} | {o['split']} | {' | '.join(cells)} | {scaffolds['in_corpus']} of "
                             f"{scaffolds['distinct']} | {scaffolds['corpus_rows']:,} | {o['corpus_rows_matching']:,} |")  # fmt: skip
            if self.matches:
                lines += ["", "| corpus row | SMILES | set | part | match |", "|---|---|---|---|---|"]
                lines += [f"| {m['row']} | `{m['smiles'][:60]}` | {m['dataset']} | {m['part']} | {m['match']} |" for m in self.matches[:_SHOW]]
                if len(self.matches) > _SHOW:
                    lines.append(f"\n({len(self.matches) - _SHOW:,} more in audit.json)")
        if self.timings:
            lines += ["", "## Time", "", ", ".join(f"{k} {v}" for k, v in self.timings.items())]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write ``audit.md``, ``audit.json`` and ``audit.png`` (heavy atoms, corpus vs sets) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"markdown": directory / "audit.md", "json": directory / "audit.json", "figure": directory / "audit.png"}
        paths["json"].write_text(json.dumps(self.to_dict(), indent=1))
        paths["markdown"].write_text(self.to_markdown() + "\n![heavy atoms](audit.png)\n")
        self.plot(paths["figure"])
        return paths

    def plot(self, path: str | Path) -> None:
        """Heavy-atom histograms (density) of the corpus and each downstream set: where their sizes differ."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        top = max([int(v.max()) for v in self.heavy_atoms.values() if v.size] + [1])
        bins = np.arange(0, min(top, 150) + 2) - 0.5
        for name, values in self.heavy_atoms.items():
            ax.hist(np.clip(values, 0, bins[-1]), bins=bins, density=True, histtype="step", linewidth=2 if name == "corpus" else 1, label=name)
        ax.set_xlabel("heavy atoms (clipped at 150)")
        ax.set_ylabel("fraction of molecules")
        ax.set_title(f"{Path(self.source).name}: molecule size vs downstream sets")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
