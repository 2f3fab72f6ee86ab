"""Errors of dpst that are not plain ``ValueError``/``FileNotFoundError``, and a message helper.

The library raises; only :mod:`dpst.cli` turns exceptions into a line on stderr and an exit code
(:func:`dpst.cli.common.exit_status`)."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class WeightsError(RuntimeError):
    """The VGG-19 weights could not be found or read (the user can fix it: install or point to them)."""


class MissingExtra(ImportError):
    """An optional part of dpst is used whose extra is not installed; the message names the extra."""

    def __init__(self, extra: str, what: str) -> None:
        super().__init__(f"{what} needs the {extra} extra: pip install 'dpst[{extra}]'")
        self.extra = extra


class TooLarge(ValueError):
    """The run would not fit in this machine's memory; the message says which --output-size would."""


class DownloadFailed(ValueError):
    """Something dpst fetches on first use (a scene parser) could not be had: offline, no network, not
    on the hub.  The message is ``what`` then ``reason`` (``the scene parser X`` ``could not be
    downloaded (no network)``), then ``hint``, what to do."""

    def __init__(self, what: str, reason: str, hint: str = "") -> None:
        super().__init__(f"{what} {reason}" + (f"; {hint}" if hint else ""))
        self.what, self.reason = what, reason
