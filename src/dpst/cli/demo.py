"""``dpst demo -o OUT``: scikit-image's bundled cat in the look of its rocket launch at dusk."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence

from ..errors import MissingExtra
from .stylize import run_stylize

DEMO_PAIR = ("chelsea.png", "rocket.jpg")  # scikit-image's bundled photos: a cat; a launch at dusk


def demo_paths() -> tuple[str, str]:
    """The demo pair from scikit-image's bundled data (pip install scikit-image)."""
    try:
        data = importlib.resources.files("skimage") / "data"
    except ModuleNotFoundError:
        raise MissingExtra("demo", "dpst demo (its photos come with scikit-image)") from None
    return tuple(str(data / name) for name in DEMO_PAIR)


def run_demo(argv: Sequence[str]) -> int:
    """dpst demo -o OUT [settings]: stylise scikit-image's cat in the look of its rocket launch."""
    if "-h" in argv or "--help" in argv:
        print(
            "usage: dpst demo -o OUT [settings...]\n"
            f"Runs dpst on scikit-image's bundled {DEMO_PAIR[0]} (content) and {DEMO_PAIR[1]} (style)."
        )
        return 0
    return run_stylize([*demo_paths(), *argv])
