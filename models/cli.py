"""What every command line of the projects shares: one way to parse, check and run.

    run(parser(), argv, {"train": cmd_train, "evaluate": cmd_evaluate}, (DataError,))

Bad values exit with argparse's usage error (code 2); so does a non-positive `--minutes` and any
error written for the user (the `errors` given): a message, never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

Command = Callable[[argparse.Namespace], Any]


def run(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    commands: Mapping[str, Command] | Command,
    errors: tuple[type[Exception], ...] = (),
) -> None:
    args = parser.parse_args(argv)
    if getattr(args, "minutes", 1) <= 0:
        parser.error("--minutes must be positive")
    command = commands if callable(commands) else commands[args.cmd]
    try:
        command(args)
    except errors as exc:
        parser.error(str(exc))


def commands(prog: str, doc: str | None) -> tuple[argparse.ArgumentParser, Any]:
    """A parser for `prog` (described by its docstring's first line) and its sub-commands."""
    p = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    return p, p.add_subparsers(dest="cmd", required=True)


def subcommand(sub: Any, name: str, help: str, **required: str) -> argparse.ArgumentParser:
    """A sub-command with its required options: `subcommand(sub, "evaluate", "…", model="a saved
    model folder", data="a labelled file")` adds `--model` and `--data`."""
    p = sub.add_parser(name, help=help)
    for option, text in required.items():
        p.add_argument(f"--{option.replace('_', '-')}", required=True, help=text or None)
    return p
