"""Issue 11: every subcommand meets every kind of bad input file with one line naming it and a non-zero exit."""

from __future__ import annotations

import builtins
import gzip
from pathlib import Path

import pytest

from molssl.cli.main import main
from tests.conftest import MOLECULENET

BBBP_HEAD = "".join(open(MOLECULENET / "bbbp.csv", encoding="utf-8").readlines()[:400])
SMALL = ["--num-layers", "1", "--emb-dim", "8"]


def _truncated_gz(path: Path) -> None:
    data = gzip.compress(BBBP_HEAD.encode())
    path.write_bytes(data[: len(data) // 2])


KINDS = {
    "truncated_gz": ("mols.csv.gz", _truncated_gz),
    "directory": ("mols.csv", lambda p: p.mkdir()),
    "unreadable": ("mols.csv", lambda p: p.write_text(BBBP_HEAD)),
    "utf16": ("mols.csv", lambda p: p.write_text(BBBP_HEAD, encoding="utf-16")),
    "binary": ("mols.csv", lambda p: p.write_bytes(bytes(range(256)) * 16)),
    "latin1": ("mols.csv", lambda p: p.write_bytes("smiles,p_np\nCCO,1\nCCN,0\nC\xe9C,1\n".encode("latin-1"))),
    "empty": ("mols.csv", lambda p: p.write_bytes(b"")),
    "one_row": ("mols.csv", lambda p: p.write_text("smiles,p_np\nCCO,1\n")),
}

#: what each kind must say, besides the file's name
REASONS = {
    "truncated_gz": "truncated", "directory": "directory", "unreadable": "ermission denied", "utf16": "UTF-16",
    "binary": "not a text file", "latin1": "line 4: not UTF-8", "empty": "empty",
}  # fmt: skip


@pytest.fixture()
def bad_file(request, tmp_path, monkeypatch) -> Path:
    """The bad file of kind ``request.param``; an unreadable one is simulated (root reads any file)."""
    name, make = KINDS[request.param]
    path = tmp_path / request.param / name
    path.parent.mkdir()
    make(path)
    if request.param == "unreadable":
        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from molssl.tasks.model import PredictorConfig, PropertyModel
    from molssl.tasks.predictor import PropertyPredictor

    predictor = PropertyPredictor(num_layers=1, emb_dim=8)
    predictor.model_ = PropertyModel(PredictorConfig(encoder=predictor.encoder_config, task_names=("p_np",))).eval()
    return predictor.save(tmp_path_factory.mktemp("model") / "model")


def _commands(path: Path, out: Path, model: Path) -> dict[str, list[str]]:
    return {
        "featurize": ["featurize", str(path), "--cache-dir", str(out / "cache"), "--workers", "1", "--no-progress"],
        "split": ["split", str(path), "--out", str(out / "split.json")],
        "finetune": ["finetune", str(path), "--out", str(out / "ft"), "--epochs", "1", "--seeds", "0", "--no-progress", *SMALL],
        "predict": ["predict", str(model), "--input", str(path), "--out", str(out / "pred.csv")],
        "pretrain": ["pretrain", "--method", "attr_masking", "--data", str(path), "--out", str(out / "pt"), "--steps", "1",
                     "--no-progress", *SMALL],
        "pretrain_supervised": ["pretrain", "--method", "supervised", "--data", str(path), "--out", str(out / "sup"),
                                "--steps", "1", "--no-progress", *SMALL],
        "example": ["example", "--method", "attr_masking", "--data", str(path), "--out", str(out / "ex"), "--pretrain-steps", "1",
                    "--no-progress"],
        "ogb_report": ["ogb", "report", str(path)],
    }  # fmt: skip


#: a one-row file is valid input to these (one molecule featurized, split or predicted)
ONE_ROW_IS_FINE = {"featurize", "split", "predict"}


@pytest.mark.parametrize("command", list(_commands(Path("f"), Path("o"), Path("m"))))
@pytest.mark.parametrize("bad_file", list(KINDS), indirect=True)
def test_bad_file_is_one_line_naming_it(command, bad_file, model_dir, tmp_path, capsys):
    kind = bad_file.parent.name
    args = _commands(bad_file, tmp_path / "out", model_dir)[command]
    code = main(args)
    err = capsys.readouterr().err
    if kind == "one_row" and command in ONE_ROW_IS_FINE:
        assert code == 0, err
        return
    assert code != 0 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and str(bad_file) in errors[0], err
    if kind in REASONS and command != "ogb_report":  # a harness record is JSON: its reader words its own reasons
        assert REASONS[kind] in errors[0], errors[0]


def test_predict_with_a_bad_model_directory(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "notes.txt").write_text("not a model")
    smiles = tmp_path / "in.smi"
    smiles.write_text("CCO\n")
    assert main(["predict", str(model), "--input", str(smiles)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{model}" in err and "config.json is missing" in err
