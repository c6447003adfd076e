"""Every ``--help`` shows every default, and the CLI's fine-tuning defaults are the Python API's."""

from __future__ import annotations

import argparse
import dataclasses

from molssl.cli.help_format import format_default, shows_default
from molssl.cli.main import build_parser
from molssl.ogb import OgbRunConfig
from molssl.pretrain import TrainConfig
from molssl.tasks.finetune import FinetuneConfig


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (sub)command's parser, with its words."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_option_with_a_default_shows_it():
    missing = []
    commands = list(_commands(build_parser()))
    assert len(commands) > 15  # molssl, its 12 commands and the nested ones (ogb run, zoo fetch, ...)
    for path, parser in commands:
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if not shows_default(action):
                continue
            own = action.help or ""
            if "default" not in own and f"(default: {format_default(action.default)})" not in text:
                missing.append(f"molssl {' '.join(path)} {action.option_strings[0]}")
    assert not missing, missing


def test_shows_default_rules():
    parser = argparse.ArgumentParser()
    zero = parser.add_argument("--seed", type=int, default=0)
    flag = parser.add_argument("--fast", action="store_true")
    unset = parser.add_argument("--name")
    assert shows_default(zero) and not shows_default(flag) and not shows_default(unset)
    assert format_default([0, 1, 2]) == "0 1 2"


def test_finetune_cli_defaults_are_the_python_defaults():
    finetune = dict(_commands(build_parser()))[("finetune",)]
    cli = {a.dest: a.default for a in finetune._actions}
    for field in dataclasses.fields(FinetuneConfig):
        if field.name in cli:
            python = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            shown = tuple(cli[field.name]) if isinstance(python, tuple) else cli[field.name]
            assert shown == python, field.name
    assert cli["seeds"] == [0] and FinetuneConfig().seeds == (0,)


def test_pretrain_and_ogb_run_cli_defaults_are_the_python_defaults():
    commands = dict(_commands(build_parser()))
    for path, config in ((("pretrain",), TrainConfig), (("ogb", "run"), OgbRunConfig)):
        cli = {a.dest: a.default for a in commands[path]._actions}
        compared = 0
        for field in dataclasses.fields(config):
            if field.name not in cli or (field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING):
                continue
            python = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            assert cli[field.name] == python, (path, field.name)
            compared += 1
        assert compared >= 8, path


def test_options_without_a_value_default_say_what_omitting_them_does():
    # a default of None ("detected", "the same as --lr", "from scratch") is a default a user needs to read too
    commands = dict(_commands(build_parser()))
    silent = []
    for path in (("finetune",), ("predict",), ("pretrain",)):
        parser = commands[path]
        chosen = {id(a) for g in parser._mutually_exclusive_groups if g.required for a in g._group_actions}  # one is required
        for action in parser._actions:
            if not action.option_strings or action.required or action.nargs == 0 or action.default is not None or id(action) in chosen:
                continue
            text = action.help or ""
            if not any(word in text for word in ("default", "omitted", "overrides")):
                silent.append(f"molssl {' '.join(path)} {action.option_strings[0]}")
    assert not silent, silent


def test_an_empty_list_default_reads_none():
    assert format_default([]) == "none"
