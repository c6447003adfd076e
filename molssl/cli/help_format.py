"""How every ``molssl`` command's ``--help`` reads: each option with the default it takes when omitted."""

from __future__ import annotations

import argparse
from typing import Any


def shows_default(action: argparse.Action) -> bool:
    """Whether ``--help`` names this option's default: an option with a value (not a flag, None or --help)."""
    if not action.option_strings or action.default is None or action.default is False or action.default == argparse.SUPPRESS:
        return False
    if action.help == argparse.SUPPRESS:
        return False
    return not isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._StoreTrueAction))


def format_default(value: Any) -> str:
    """A default as a user would type it: lists space-separated."""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) if value else "none"
    return str(value)


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: VALUE)`` to every option that has one, unless its help already says its default."""

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and shows_default(action):
            action.help = ""  # _get_help_string adds the default; argparse skips options with help None
            action.help = self._get_help_string(action).strip()
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if shows_default(action) and "default" not in text:
            text += f" (default: {format_default(action.default).replace('%', '%%')})"
        return text


class MolsslParser(argparse.ArgumentParser):
    """The parser of ``molssl`` and all its subcommands (``add_subparsers`` hands its class down)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


__all__ = ["DefaultsHelpFormatter", "MolsslParser", "format_default", "shows_default"]
