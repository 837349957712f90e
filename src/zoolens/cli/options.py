"""Typer options made from config fields: the default, the flag and the help come from the config.

So ``zoolens criticality --help`` shows the same defaults as
:class:`~zoolens.criticality.config.CriticalityConfig` and study files, by construction.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import typer

from zoolens.config import flag_of


def _field(cls: type, name: str) -> dataclasses.Field:
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def cli_default(value: Any) -> Any:
    """A config default as the command line writes it: lists as ``0,1,2``, ε-like floats as ``8/255``."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and not value.is_integer():
        frac = Fraction(value).limit_denominator(1000)
        if float(frac) == value and frac.denominator > 10:
            return f"{frac.numerator}/{frac.denominator}"
    return value


def config_option(cls: type, name: str, *short: str, as_text: bool = False) -> Any:
    """The ``typer.Option`` of field ``name`` of config class ``cls``.

    Parameters
    ----------
    short:
        Extra spellings (e.g. ``"-n"``).
    as_text:
        The option is read as text (fractions like ``8/255``, seed lists), so its default
        is written the way a user would type it.
    """
    field = _field(cls, name)
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    if as_text and default is not None:
        default = str(cli_default(default))
    return typer.Option(default, *flag_of(field).split("|"), *short, help=field.metadata.get("help", ""))


__all__ = ["cli_default", "config_option"]
