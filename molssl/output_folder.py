"""The one rule of every command that writes an output folder (pretrain, finetune, ogb run, convert ...).

1. Check the folder first, before any work: a finished run there is refused unless ``overwrite`` (or,
   where the command resumes, ``resume``); nothing is written by the check.
2. Validate everything (data, options), and do the work that can fail before anything is written.
3. Only then clear what the command's earlier runs left (``clear_outputs``: the command's own names, never
   anything else in the folder) and write.

So a run that failed before its first result leaves nothing that blocks a retry with other options, and an
``overwrite`` that fails keeps the old result. ``OutputLayout`` names what a command writes and which of
those names mark a finished run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


class OutputExistsError(RuntimeError):
    """The output folder holds a finished run and the command was not told to overwrite (or resume) it."""


@dataclass(frozen=True)
class OutputLayout:
    """What a command writes into its output folder.

    Attributes:
        command: the command, for messages (``"molssl finetune"``).
        what: what the folder holds once the command finished, for messages (``"fine-tuned model"``).
        names: every file and folder the command writes there (what ``clear_outputs`` removes).
        finished: those whose presence marks a finished run (any one of them).
        resumable: the command continues a run with ``--resume`` (named in the refusal).
    """

    command: str
    what: str
    names: tuple[str, ...]
    finished: tuple[str, ...]
    resumable: bool = False

    def __post_init__(self) -> None:
        if not set(self.finished) <= set(self.names):
            raise ValueError(f"{self.command}: finished markers {sorted(set(self.finished) - set(self.names))} are not among its outputs")


def finished_outputs(folder: str | os.PathLike, layout: OutputLayout) -> list[Path]:
    """The markers of a finished run present in ``folder`` (empty: no finished run there)."""
    folder = Path(folder)
    return [folder / name for name in layout.finished if (folder / name).exists()]


def check_output_folder(folder: str | os.PathLike, layout: OutputLayout, *, overwrite: bool = False, resume: bool = False) -> None:
    """Step 1 of the rule: refuse a folder holding a finished run unless ``overwrite`` or ``resume``. Writes nothing.

    Raises:
        OutputExistsError: naming the finished run's files and the options that go on.
        ValueError: ``overwrite`` and ``resume`` together, or ``folder`` is a file.
    """
    folder = Path(folder)
    if overwrite and resume:
        raise ValueError(f"{layout.command}: --overwrite starts over and --resume continues; pass one of them")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; choose another output folder")
    found = finished_outputs(folder, layout)
    if found and not overwrite and not resume:
        how = "pass --overwrite to replace it" + (", --resume to continue it" if layout.resumable else "")
        raise OutputExistsError(
            f"{folder} already holds a {layout.what} ({', '.join(p.name for p in found)}); {how}, or choose another output "
            "folder"
        )


def clear_outputs(folder: str | os.PathLike, layout: OutputLayout) -> list[Path]:
    """Step 3 of the rule: remove what an earlier run of the command left in ``folder`` (its names only).

    Call after everything was validated, right before writing. Returns the paths removed.
    """
    folder = Path(folder)
    removed = []
    for name in layout.names:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


__all__ = ["OutputExistsError", "OutputLayout", "check_output_folder", "clear_outputs", "finished_outputs"]
