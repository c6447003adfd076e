"""``molssl datasets`` says which MoleculeNet sets are embedded and where the others come from."""

from __future__ import annotations

from molssl.cli.main import main


def test_datasets_marks_the_embedded_sets(monkeypatch, capsys):
    monkeypatch.delenv("MOLSSL_DATA", raising=False)
    assert main(["datasets"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in ("BBBP", "SIDER", "ClinTox", "BACE", "ESOL", "FreeSolv", "Lipophilicity"):
        assert " embedded " in lines[name] and "datasets/moleculenet/" in lines[name], lines[name]
    for name in ("Tox21", "ToxCast", "MUV", "HIV"):
        assert " missing " in lines[name] and "download https://" in lines[name], lines[name]
    assert lines["7"].startswith("7 of 11 sets are embedded")
