"""Embedded data: one lookup (``embedded_file``), and an installed wheel carries what the default commands read."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import molssl.data.embedded as embedded
from molssl.data.catalog import MOLECULENET
from molssl.data.embedded import REPO_DATASETS, default_corpus, embedded_file, wheel_files

ROOT = Path(__file__).resolve().parents[2]


def _default(parser_module, option: str) -> str:
    sub = argparse.ArgumentParser().add_subparsers()
    parser_module.add_parser(sub)
    (parser,) = sub.choices.values()
    return parser.get_default(option.lstrip("-").replace("-", "_"))


def files_default_commands_read() -> set[str]:
    """Embedded files read by a default command, named from the code that reads them (not a copy of the list)."""
    from molssl.cli import example
    from molssl.vision.data import MNIST_IMAGES, MNIST_LABELS
    from molssl.zoo.catalog import get_entry
    from molssl.zoo.measured import TRANSFER_FILE

    corpus = default_corpus().relative_to(REPO_DATASETS).as_posix()  # pretrain, featurize, text vocabulary
    moleculenet = {f"moleculenet/{info.trimmed_file}" for info in MOLECULENET.values() if info.trimmed_file}
    zoo_default = get_entry(_default(example, "--pretrained")).embedded  # molssl example
    return {corpus, *moleculenet, MNIST_IMAGES, MNIST_LABELS, TRANSFER_FILE, zoo_default}


def test_wheel_manifest_covers_what_default_commands_read():
    shipped = set(wheel_files())
    needed = files_default_commands_read()
    assert len(needed) >= 12 and "moses/moses_50k.smi.gz" in needed
    assert needed <= shipped, sorted(needed - shipped)
    for folder in {name.split("/")[0] for name in shipped}:  # every shipped folder carries its dataset card
        assert f"{folder}/README.md" in shipped, folder
    heavy = sum((REPO_DATASETS / name).stat().st_size for name in shipped)
    assert heavy < 8_000_000, heavy  # the 23 MB of pretrain-gnns checkpoints stay out


def test_manifest_lines_that_match_nothing_are_errors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text("smiles\nC\n")
    (tmp_path / embedded.WHEEL_MANIFEST).write_text("# comment\n\na/*.csv\nb/missing.gz\n")
    with pytest.raises(FileNotFoundError, match=r"line 4: 'b/missing.gz' matches no file"):
        wheel_files(tmp_path)
    (tmp_path / embedded.WHEEL_MANIFEST).write_text("a/*.csv\n")
    assert wheel_files(tmp_path) == ["a/x.csv"]


def test_lookup_order_env_then_package_then_checkout(tmp_path, monkeypatch):
    relative = "moses/moses_50k.smi.gz"
    assert embedded_file(relative) == REPO_DATASETS / relative  # a source checkout
    package = tmp_path / "package"
    (package / "moses").mkdir(parents=True)
    (package / relative).write_bytes(b"wheel copy")
    monkeypatch.setattr(embedded, "PACKAGE_DATASETS", package)
    assert embedded_file(relative) == package / relative
    env = tmp_path / "env"
    (env / "moses").mkdir(parents=True)
    (env / relative).write_bytes(b"user copy")
    monkeypatch.setenv(embedded.DATA_ENV_VAR, str(env))
    assert embedded_file(relative) == env / relative
    with pytest.raises(FileNotFoundError, match=r"'moses/absent.gz' not found \(looked in: .*env.*package.*datasets"):
        embedded_file("moses/absent.gz")


def _build_source_copy(directory: Path) -> Path:
    """The files a wheel is built from, copied (the build must not write into the shared checkout)."""
    source = directory / "src"
    shutil.copytree(ROOT / "molssl", source / "molssl", ignore=shutil.ignore_patterns("__pycache__", "_embedded"))
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in [embedded.WHEEL_MANIFEST, *wheel_files()]:
        (source / "datasets" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_DATASETS / name, source / "datasets" / name)
    return source


@pytest.mark.slow
def test_installed_wheel_runs_offline_on_its_own_data(tmp_path):
    source = _build_source_copy(tmp_path)
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    offline.pop(embedded.DATA_ENV_VAR, None)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, env=offline, capture_output=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("molssl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        data = sorted(n.removeprefix("molssl/_embedded/") for n in archive.namelist() if n.startswith("molssl/_embedded/"))
    assert data == wheel_files()

    # a fresh environment: the installed torch/RDKit, but molssl only from the wheel
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=offline, capture_output=True)  # fmt: skip
    home = tmp_path / "home"
    run_env = {**offline, "MOLSSL_HOME": str(home), "MOLSSL_CACHE": str(home / "cache")}
    check = (
        "import molssl, molssl.data.embedded as e\n"
        "from pathlib import Path\n"
        f"assert Path(molssl.__file__).is_relative_to({str(env_dir)!r}), molssl.__file__\n"
        "assert not e.REPO_DATASETS.is_dir(), e.REPO_DATASETS\n"
        "corpus = molssl.read_smiles_file(e.default_corpus())\n"
        "assert len(corpus.smiles) == 50_000 and e.default_corpus().is_relative_to(e.PACKAGE_DATASETS)\n"
        "assert len(molssl.load_moleculenet('bace').smiles) > 1000\n"
        "from molssl.zoo import resolve_pretrained\n"
        "print(resolve_pretrained('hu2020/gcn_supervised_contextpred'))\n"
    )
    out = subprocess.run([str(python), "-c", check], cwd=tmp_path, env=run_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert str(home) in out.stdout  # converted from the wheel's copy into the zoo cache, offline
    helped = subprocess.run([str(env_dir / "bin" / "molssl"), "example", "--help"], cwd=tmp_path, env=run_env,
                            capture_output=True, text=True)  # fmt: skip
    assert helped.returncode == 0 and "--pretrained" in helped.stdout, helped.stderr
