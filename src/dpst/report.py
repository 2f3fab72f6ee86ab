"""What a run chose and measured, returned with its result: :class:`RunReport` in a :class:`Result`;
and :class:`Masks`, the masks a run would use with the line saying which."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .neural.run import StageRun


@dataclass(frozen=True)
class RunReport:
    """One stylisation, as it ran."""

    masks: str  # which masks: "given", "semantic (scene parser ...)", "unsupervised", "none (...)"
    stages: tuple[StageRun, ...]  # the stages that ran, in order (dpst.neural.plan)
    finish: str  # "carry", "filter", "no filter" or "fine carry" (--f-pick measured it better)
    timings: Mapping[str, float]  # seconds in each phase (dpst.neural.plan.PHASES), in order

    def stage(self, number: int) -> StageRun | None:
        """Stage ``number`` as it ran, or None when it did not."""
        return next((s for s in self.stages if s.number == number), None)

    @property
    def lam(self) -> float:
        """λ of stage 2 (``--lambda``, rescaled for the photo by ``--photo-balance``); 0 without it."""
        second = self.stage(2)
        return second.lam if second is not None else 0.0

    @property
    def texture_left(self) -> float:
        """Stage 2's style term at its end (unweighted), what ``--stage3-texture`` compares; 0 without it."""
        second = self.stage(2)
        return second.texture_left if second is not None else 0.0

    def chosen(self) -> str:
        """What the run chose for its photo (``--photo-balance``, ``--stage3-texture``, ``--f-pick``),
        in words."""
        parts = []
        if self.lam:
            parts.append(f"lambda {self.lam:.0f}")
        if self.stage(3) is not None:
            parts.append(f"stage 3 (texture left {self.texture_left:.3f})")
        if self.finish:
            words = {
                "filter": "filtered",
                "no filter": "not filtered (measured better)",
                "fine carry": "carried at a finer radius, not filtered (measured better)",
            }
            parts.append(words.get(self.finish, self.finish))
        return ", ".join(parts)


@dataclass(frozen=True, eq=False)
class Result:
    """A stylisation: the image and its report (unpacks as ``image, report``), and the image at full
    precision, before it was rounded to 8 bits (to write 16-bit files: :func:`dpst.io.save_photo`)."""

    image: Image.Image  # 8-bit sRGB
    report: RunReport
    rgb: np.ndarray | None = None  # float32 (H, W, 3) sRGB in [0, 1]: what ``image`` was rounded from

    def __iter__(self) -> Iterator[Image.Image | RunReport]:
        return iter((self.image, self.report))

    def pixels(self) -> np.ndarray:
        """The result as float32 (H, W, 3) sRGB in [0, 1], at full precision where the run kept it."""
        return self.rgb if self.rgb is not None else np.asarray(self.image, np.float32) / 255.0


@dataclass(frozen=True)
class Masks:
    """The masks a run would use, as palette images at the photos' own sizes; unpacks as
    ``content, style``."""

    content: Image.Image
    style: Image.Image
    used: str  # which: "given", "semantic (scene parser ...)", "unsupervised", ...

    def __iter__(self) -> Iterator[Image.Image]:
        return iter((self.content, self.style))
