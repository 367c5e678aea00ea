"""Command-line flags generated from a stage's Config dataclass, so a knob is declared once.

A Config field becomes the flag `--<field-name>` (underscores as dashes) with the field's
default; its help, and anything argparse needs beyond the type, sit in the field's metadata,
written with `option(...)`. A field whose type is itself a dataclass contributes its own
fields as an argument group (the flags stay unprefixed, so every field name in one tree must
be unique). Types: `int`, `float`, `str`, `bool` (default False: `--flag`; default True:
`--no-flag`), `X | None`, and `tuple[str, ...] | None` (several values).

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, DedupConfig)
    config = config_from_args(DedupConfig, parser.parse_args())
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Callable
from typing import Any

NONE_WORDS = ("none", "off", "")


def option(default: Any = dataclasses.MISSING, *, help: str = "", flag: str | None = None,
           parse: Callable[[str], Any] | None = None, format: Callable[[Any], str] | None = None,
           choices: tuple | None = None, metavar: str | None = None, default_factory: Any = dataclasses.MISSING,
           cli: bool = True, required: bool = False) -> Any:
    """A dataclass field with what its flag needs: help text, a flag name, a parser of the text, choices.

    `flag` names the flag (e.g. "--lid-model", or "--no-title" for a True bool); `parse` turns the
    flag's text into the field's value, `format` the default into the text `--help` shows; `cli=False`
    keeps the field off the command line; `required=True` makes the flag mandatory.
    """
    metadata = {"help": help, "flag": flag, "parse": parse, "format": format, "choices": choices,
                "metavar": metavar, "cli": cli, "required": required}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for on/off switches, whose flag already says what it changes."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def optional_float(text: str) -> float | None:
    """A float, or None for 'none' / 'off' / '' (a knob that can be switched off)."""
    return None if text.lower() in NONE_WORDS else float(text)


def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse`, with its ValueError shown by argparse as the message it is."""

    def parse_text(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse_text


def _fields(config_type: type) -> list[tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(config_type)
    return [(f, hints[f.name]) for f in dataclasses.fields(config_type) if f.init]


def _unwrap_optional(kind: Any) -> tuple[Any, bool]:
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else kind), True
    return kind, False


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def add_config_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, config_type: type,
                         seen: set[str] | None = None) -> None:
    """Add one flag per (nested) field of `config_type` to `parser`."""
    seen = set() if seen is None else seen
    nested = []
    for f, kind in _fields(config_type):
        meta = f.metadata
        if dataclasses.is_dataclass(kind):
            nested.append(kind)
            continue
        if not meta.get("cli", True):
            continue
        if f.name in seen:
            raise ValueError(f"field {f.name!r} of {config_type.__name__} appears twice in one config tree")
        seen.add(f.name)
        default, (base, optional) = _default(f), _unwrap_optional(kind)
        kwargs: dict[str, Any] = {"dest": f.name, "help": meta.get("help") or None}
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        if base is bool:
            kwargs["action"] = "store_false" if default else "store_true"
            if default and not meta.get("flag"):
                flag = "--no-" + f.name.replace("_", "-")
        else:
            kwargs["default"] = default
            if meta.get("parse"):
                kwargs["type"] = _argument_type(meta["parse"])
                if meta.get("format") and default is not None:
                    kwargs["default"] = meta["format"](default)  # argparse parses a text default with `type`
            elif typing.get_origin(base) is tuple:
                kwargs["nargs"] = "+"
                kwargs["type"] = typing.get_args(base)[0]
            elif optional and base is float and default is not None:
                kwargs["type"] = optional_float
            else:
                kwargs["type"] = base
            for key in ("choices", "metavar", "required"):
                if meta.get(key):
                    kwargs[key] = meta[key]
        parser.add_argument(flag, **kwargs)
    root = parser if isinstance(parser, argparse.ArgumentParser) else None
    for kind in nested:
        title = re.sub(r"\s*\(.*\)\.?$", "", (kind.__doc__ or kind.__name__).strip().splitlines()[0]).rstrip(".")
        group = root.add_argument_group(title) if root is not None else parser
        add_config_arguments(group, kind, seen)


def config_from_args(config_type: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """The config whose fields are the parsed flags (nested configs built the same way); `overrides` win."""
    values: dict[str, Any] = {}
    for f, kind in _fields(config_type):
        if dataclasses.is_dataclass(kind):
            values[f.name] = config_from_args(kind, args)
        elif f.metadata.get("cli", True) and hasattr(args, f.name):
            value = getattr(args, f.name)
            if isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    values.update(overrides)
    return config_type(**values)
