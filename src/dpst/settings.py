"""One way to declare a setting, check it and read it from text.

- :func:`setting`: a dataclass field with its default, help, bounds, choices and flag group;
- :func:`check_settings`: run in ``__post_init__`` of every settings class (:class:`dpst.config.Config`,
  :class:`dpst.lut.LutSettings`, :class:`dpst.video.pipeline.VideoSettings`, the segmentation knobs),
  it checks each field's type, bounds and choices, with a message naming the field's flag;
- :func:`parse_setting`: text (a flag, a manifest cell, a benchmark's ``--set KEY=VALUE``) or a value
  from JSON or the page, turned into the field's type.

The flags (:mod:`dpst.cli.common`), the batch manifest, the web page and the benchmarks are all built
from these declarations.  Nothing here imports the rest of dpst.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import Field, field, fields
from typing import Any

KINDS = (bool, int, float, str, tuple)
_WORDS = {bool: "true/false", int: "a whole number", float: "a number", str: "text"}
_PLURAL = {bool: "true/false values", int: "whole numbers", float: "numbers", str: "texts"}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def setting(
    default: Any,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    also: tuple = (),
    choices: tuple[str, ...] | None = None,
    group: str = "",
    flag: str = "",
) -> Any:
    """A settings field: ``default`` (its type is the setting's: bool, int, float, str, or a tuple of
    one of them), ``help`` (what the setting does, for ``--help`` and the docs), the bounds ``min`` and
    ``max`` (inclusive) and ``above`` (exclusive), values ``also`` allowed outside the bounds (``0`` as
    "off", say), the ``choices`` of a text setting, the ``group`` its flag is listed under in
    ``--help``, and its ``flag`` when not the field's name with dashes (``lambda``)."""
    kind = type(default)
    if kind not in KINDS:
        raise TypeError(
            f"setting: a default of type {kind.__name__} is not one of bool, int, float, str, tuple"
        )
    item = (type(default[0]) if default else str) if kind is tuple else None
    meta = {
        "kind": kind,
        "item": item,
        "help": help,
        "min": min,
        "max": max,
        "above": above,
        "also": tuple(also),
        "choices": tuple(choices) if choices else None,
        "group": group,
        "flag": flag,
    }
    return field(default=default, metadata=meta)


def setting_fields(cls: Any) -> tuple[Field, ...]:
    """The fields of a settings class (or instance) declared with :func:`setting`."""
    return tuple(f for f in fields(cls) if "kind" in f.metadata)


def flag_name(cls: Any, f: Field) -> str:
    """The name of a field in messages: its CLI flag (``--size``, ``--lambda``, ``--lut-size``: the
    class's ``FLAG_PREFIX``, ``"--"`` when it has none), or ``Class.field`` for a class whose
    ``FLAG_PREFIX`` is None (settings with no flags)."""
    cls = cls if isinstance(cls, type) else type(cls)
    prefix = getattr(cls, "FLAG_PREFIX", "--")
    if prefix is None:
        return f"{cls.__name__}.{f.name}"
    return prefix + (f.metadata.get("flag") or f.name.replace("_", "-"))


def check_settings(obj: Any) -> None:
    """Check every :func:`setting` field of ``obj`` (a settings dataclass, from its ``__post_init__``):
    its type, choices and bounds.  ValueError naming the flag: ``--size 16: must be >= 32``."""
    for f in setting_fields(obj):
        check_value(obj, f, getattr(obj, f.name))


def check_value(cls: Any, f: Field, value: Any) -> None:
    """Check one value of the field ``f`` of the settings class ``cls`` (see :func:`check_settings`)."""
    name, m = flag_name(cls, f), f.metadata
    if m["kind"] is tuple:
        if not isinstance(value, tuple):
            raise ValueError(f"{name}: expected {kind_words(f)}, got {value!r}")
        for v in value:
            _check_one(name, m, m["item"], v)
    else:
        _check_one(name, m, m["kind"], value)


def _check_one(name: str, m: Any, kind: type, value: Any) -> None:
    if not _is_kind(kind, value):
        raise ValueError(
            f"{name}: expected {_WORDS[kind] if kind is not bool else 'true or false'}, got {value!r}"
        )
    if m["choices"] and value not in m["choices"]:
        raise ValueError(f"{name} {value!r}: use one of {', '.join(map(str, m['choices']))}")
    if kind in (int, float) and value not in m["also"] and not _in_bounds(m, value):
        raise ValueError(f"{name} {value}: {bounds_words(m, kind)}")


def _is_kind(kind: type, value: Any) -> bool:
    if kind is bool or kind is str:
        return isinstance(value, kind)
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _in_bounds(m: Any, value: float) -> bool:
    return (
        (m["min"] is None or value >= m["min"])
        and (m["above"] is None or value > m["above"])
        and (m["max"] is None or value <= m["max"])
    )


def bounds_words(m: Any, kind: type) -> str:
    """What a number must be, in words: ``must be >= 32``, ``use 2 to 65``, ``use a number in (0, 1]``,
    ``use 0 or at least 32``."""
    low, strict = (m["above"], True) if m["above"] is not None else (m["min"], False)
    high = m["max"]
    if low is None and high is None:
        return "any number"
    if m["also"] and high is None:
        return f"use {' or '.join(map(str, m['also']))} or {'more than' if strict else 'at least'} {low}"
    if high is None:
        return f"must be {'>' if strict else '>='} {low}"
    if low is None:
        return f"must be <= {high}"
    if kind is int and not strict:
        return f"use {low} to {high}"
    return f"use a number in {'(' if strict else '['}{low}, {high}]"


def kind_words(f: Field) -> str:
    """What a field's value is, in words: ``a whole number``, ``true/false``, ``numbers separated by
    commas`` (a tuple)."""
    m = f.metadata
    if m["kind"] is tuple:
        return f"{_PLURAL[m['item']]} separated by commas"
    return _WORDS[m["kind"]]


def parse_setting(f: Field, value: Any, name: str = "") -> Any:
    """``value`` as the field's type, its choices checked (bounds are left to the settings class):
    text (``"64"``, ``"yes"``, ``"1,2,3"`` for a tuple), or a value from JSON or the page (an int for an
    int field, an int or float for a float one, a bool for a bool one, a list for a tuple one).
    ValueError naming the setting as ``name`` (default: the field's name): ``size: 'big' is not a whole
    number``."""
    name = name or f.name
    m = f.metadata
    try:
        if m["kind"] is tuple:
            parts = value.split(",") if isinstance(value, str) else value
            if not isinstance(parts, (list, tuple)):
                raise TypeError(value)
            out = tuple(_parse(m["item"], p.strip() if isinstance(p, str) else p) for p in parts)
        else:
            out = _parse(m["kind"], value)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: {value!r} is not {kind_words(f)}") from None
    choices = m["choices"]
    if choices and any(v not in choices for v in (out if m["kind"] is tuple else (out,))):
        raise ValueError(f"{name}: {out!r} is not one of {', '.join(choices)}")
    return out


def _parse(kind: type, value: Any) -> Any:
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text not in _TRUE + _FALSE:
                raise ValueError(value)
            return text in _TRUE
        return kind(text)
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, (int, float, str)):
        raise TypeError(value)
    if (kind is int and not isinstance(value, int)) or (kind is str and not isinstance(value, str)):
        raise TypeError(value)
    return kind(value)


def text_parser(f: Field):
    """The parser of one flag's text (argparse's ``type=``): named after the field's type, so that a
    bad value reads as argparse's own ``invalid int value: 'x'``; choices are argparse's to check."""

    def parse(text: str) -> Any:
        if f.metadata["kind"] is tuple:
            return parse_setting(f, text)
        return _parse(f.metadata["kind"], text)

    parse.__name__ = f.metadata["kind"].__name__
    return parse


def format_setting(value: Any) -> str:
    """The text that :func:`parse_setting` reads back as ``value``."""
    if isinstance(value, tuple):
        return ",".join(format_setting(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def find_setting(cls: Any, key: str) -> Field:
    """The field of ``cls`` that ``key`` names: its name (``photo_weight``), or its flag with or without
    the dashes (``lambda``, ``--f-edge``, ``f-edge``).  ValueError with the nearest name otherwise."""
    by_key: dict[str, Field] = {}
    for f in setting_fields(cls):
        by_key[f.name] = f
        by_key[flag_name(cls, f).lstrip("-").replace("-", "_")] = f
    k = key.strip().lstrip("-").replace("-", "_")
    if k in by_key:
        return by_key[k]
    hint = difflib.get_close_matches(k, list(by_key), n=1)
    raise ValueError(f"unknown setting {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def parse_assignments(cls: Any, items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts (a benchmark's ``--set``) as {field name: value} of the settings class
    ``cls``; KEY as :func:`find_setting` reads it.  ValueError naming the item."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        try:
            f = find_setting(cls, key)
            out[f.name] = parse_setting(f, value.strip(), name=f.name)
        except ValueError as exc:
            raise ValueError(f"--set {item!r}: {exc}") from None
    return out
