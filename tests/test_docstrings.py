"""Every cross-reference to dpst in the source (``:mod:`dpst.x```, ``:func:`dpst.x.f```,
``:class:`dpst.x.C```, ...) names something that exists, so a module that moves cannot leave its old
name behind in a docstring."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dpst"
ROLE = re.compile(r":(mod|func|class|meth|attr|exc|data):`~?(dpst(?:\.\w+)*)`")


def references(src: Path = SRC) -> list[tuple[str, str, str]]:
    """(where, role, dotted name) of every such reference under ``src``."""
    found = []
    for path in sorted(src.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [(f"{path.relative_to(src.parent)}:{n}", *m.groups()) for m in ROLE.finditer(line)]
    return found


def resolve(name: str) -> object:
    """The module or object a dotted name refers to: the longest importable module prefix, then
    attributes down from it.  Raises ImportError/AttributeError if there is none."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


def test_the_source_has_references_to_check():
    assert len(references()) > 20


@pytest.mark.parametrize("where, role, name", references())
def test_each_reference_resolves(where, role, name):
    try:
        obj = resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{where}: :{role}:`{name}` names nothing ({exc})")
    if role == "mod":
        assert type(obj).__name__ == "module", f"{where}: :mod:`{name}` is not a module"
