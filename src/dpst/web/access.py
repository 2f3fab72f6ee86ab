"""Who may use a ``dpst serve`` page: the logins it is started with, and when it needs one.

A server on a loopback address (127.0.0.1, ::1, localhost) is reachable from this machine only and
needs no login; on any other address it refuses to start without one unless told to open up
(``--no-auth``).  Logins come from ``--auth USER:PASSWORD``, a file of such lines (``--auth-file``)
or the ``DPST_AUTH`` variable; the web framework checks them (its own login page).  No message here
ever contains a password: a bad entry is named by where it is, never by what it says.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from pathlib import Path

ENV = "DPST_AUTH"
Login = tuple[str, str]


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach: ``localhost``, 127.0.0.0/8, ``::1``.  Any
    other name counts as reachable from the network (no name is looked up)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_login(text: str, where: str) -> Login:
    """``USER:PASSWORD`` (the password may hold colons) as (user, password); ValueError naming
    ``where`` (a flag, a file's line), never the text."""
    user, sep, password = text.strip().partition(":")
    if not sep or not user.strip() or not password:
        raise ValueError(f"{where}: expected USER:PASSWORD with neither empty")
    return user.strip(), password


def parse_logins(lines: Iterable[str], where: str) -> list[Login]:
    """Logins from lines of ``USER:PASSWORD``; blank lines and lines starting with ``#`` are skipped."""
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(parse_login(line.rstrip("\r\n"), f"{where}, line {n}"))
    return out


def gather_logins(given: Sequence[str], file: str | Path | None, env: str | None) -> list[Login]:
    """Every login: the ``--auth`` values, the lines of ``--auth-file``, the lines of ``$DPST_AUTH``.
    A user named twice keeps the last password given."""
    logins = [parse_login(text, "--auth") for text in given]
    if file:
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"--auth-file {path}: no such file")
        logins += parse_logins(path.read_text(encoding="utf-8").splitlines(), f"--auth-file {path}")
        if not logins:
            raise ValueError(f"--auth-file {path}: no USER:PASSWORD line in it")
    if env:
        logins += parse_logins(env.splitlines(), f"${ENV}")
    return list(dict(logins).items())


def check_access(host: str, logins: Sequence[Login], open_to_all: bool) -> None:
    """ValueError unless the server may start so: a login, a loopback ``host``, or ``open_to_all``
    (``--no-auth``) on a host that is not loopback."""
    if open_to_all and logins:
        raise ValueError("--no-auth and a login (--auth, --auth-file or $DPST_AUTH) contradict; give one")
    if logins or open_to_all or is_loopback(host):
        return
    raise ValueError(
        f"--host {host} opens the page to the network: give a login (--auth-file FILE or "
        f"${ENV}=USER:PASSWORD; --auth USER:PASSWORD shows in the process list), or --no-auth to let "
        "anyone who can reach it use it"
    )
