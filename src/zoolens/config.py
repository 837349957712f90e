"""Typed settings with their constraints declared once, next to their defaults.

Every experiment's settings are a dataclass whose fields are made with :func:`setting`:
the default, a check (in the style of scikit-learn's ``_parameter_constraints``), the
help text and the command-line flag. The CLI options, the Python API, study-file
sections and ``zoolens plan`` all read these fields, so a default is written once.

Why dataclasses and not pydantic: no extra dependency, :func:`dataclasses.asdict`
gives the JSON a run directory records, and each check raises zoolens's one-line
``problem -- fix`` error (pydantic's multi-line ``ValidationError`` would need
translating back into that form).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from zoolens.errors import ZoolensError

Check = Callable[[Any, str], Any]  # (value, label) -> normalized value; raises ZoolensError
C = TypeVar("C")

# How a field is named in errors: ``n_images (--n-images)`` from Python or the CLI,
# ``[criticality] n_images`` inside a study file.
_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("zoolens_config_label", default=None)


def setting(default: Any = dataclasses.MISSING, *, check: Check | None = None, help: str = "",
            flag: str | None = None, default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
            record_if: Callable[[Any], bool] | None = None) -> Any:
    """A config field: its default, its check, its help text and its command-line flag.

    Parameters
    ----------
    default, default_factory:
        As for :func:`dataclasses.field`.
    check:
        ``check(value, label)`` returns the normalized value or raises :class:`ZoolensError`.
    help:
        One line; the CLI shows it and ``docs`` quote it.
    flag:
        The command-line flag (default: ``--`` + the field name with dashes).
    record_if:
        ``record_if(config)``: whether :func:`recorded` (a run's or study's recorded spec)
        holds the field. For settings added after run directories existed: left out while
        unused, old directories resume with the new version (e.g. ``target_se`` only when > 0).
    """
    meta = {"check": check, "help": help, "flag": flag, "record_if": record_if}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_of(field: dataclasses.Field) -> str:
    """The command-line flag of a config field."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def validate(config: Any) -> None:
    """Run every field's check (normalizing values in place), then the class's ``check_together``.

    Called by each config's ``__post_init__``: a config object that exists is valid.
    """
    style = _LABEL.get()
    for f in dataclasses.fields(config):
        check = f.metadata.get("check")
        if check is None:
            continue
        label = style.format(name=f.name) if style else f"{f.name} ({flag_of(f)})"
        object.__setattr__(config, f.name, check(getattr(config, f.name), label))
    together = getattr(config, "check_together", None)
    if together is not None:
        together()


@contextlib.contextmanager
def labelled(style: str) -> Iterator[None]:
    """Name fields in errors as ``style.format(name=...)`` (e.g. ``"[criticality] {name}"``)."""
    token = _LABEL.set(style)
    try:
        yield
    finally:
        _LABEL.reset(token)


def label(config_or_cls: Any, name: str) -> str:
    """How field ``name`` is named in errors right now (for checks that span fields)."""
    style = _LABEL.get()
    if style:
        return style.format(name=name)
    field = {f.name: f for f in dataclasses.fields(config_or_cls)}[name]
    return f"{name} ({flag_of(field)})"


def from_mapping(cls: type[C], values: Mapping[str, Any], *, where: str) -> C:
    """Build ``cls`` from a study-file table, refusing unknown keys, naming keys as ``[where] key``."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ZoolensError(f"unknown key(s) {', '.join(unknown)} in [{where}]", f"allowed: {', '.join(sorted(names))}")
    with labelled(f"[{where}] {{name}}"):
        return cls(**values)


def recorded(config: Any) -> dict[str, Any]:
    """The fields of ``config`` as a spec records them: :func:`dataclasses.asdict` less the
    fields whose ``record_if`` is false (they are at a value that changes nothing)."""
    values = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        keep = f.metadata.get("record_if")
        if keep is not None and not keep(config):
            del values[f.name]
    return values


def defaults(cls: type) -> dict[str, Any]:
    """The default of every field of config class ``cls`` (after normalization)."""
    return dataclasses.asdict(cls())


# ------------------------------------------------------------------ checks
def integer(minimum: int = 1, *, allow_none: bool = False) -> Check:
    """An int ≥ ``minimum`` (bools and non-integers refused)."""
    def check(value: Any, label: str) -> int | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ZoolensError(f"{label} must be an integer ≥ {minimum}, got {value!r}",
                               f"give a whole number ≥ {minimum}")
        return value
    return check


def number(*, minimum: float | None = None, positive: bool = False, allow_none: bool = False) -> Check:
    """A finite float (bools and text refused), optionally ≥ ``minimum`` or > 0."""
    def check(value: Any, label: str) -> float | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ZoolensError(f"{label} must be a finite number, got {value!r}", "give a number")
        if positive and not value > 0:
            raise ZoolensError(f"{label} must be positive, got {value!r}", "give a number > 0")
        if minimum is not None and value < minimum:
            raise ZoolensError(f"{label} must be ≥ {minimum:g}, got {value!r}", f"give a number ≥ {minimum:g}")
        return float(value)
    return check


def boolean() -> Check:
    """``True`` or ``False`` (``"yes"``, 1 and the like refused)."""
    def check(value: Any, label: str) -> bool:
        if not isinstance(value, bool):
            raise ZoolensError(f"{label} must be true or false, got {value!r}", "use true or false")
        return value
    return check


def one_of(choices: Sequence[str], *, allow_none: bool = False) -> Check:
    """One of ``choices`` (exact text)."""
    def check(value: Any, label: str) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or value not in choices:
            raise ZoolensError(f"unknown {label} {value!r}", f"use {', '.join(choices)}")
        return value
    return check


def text(*, allow_none: bool = False, example: str = "") -> Check:
    """Non-empty text."""
    def check(value: Any, label: str) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ZoolensError(f"{label} must be non-empty text, got {value!r}", f"e.g. {example}" if example
                               else "give text")
        return value
    return check


__all__ = ["boolean", "defaults", "flag_of", "from_mapping", "integer", "label", "labelled", "number",
           "one_of", "recorded", "setting", "text", "validate"]
