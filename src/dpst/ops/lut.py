"""3D colour look-up tables: fitting one to a colour map, applying it, and the ``.cube`` text format.

A LUT is an (N, N, N, 3) array ``table[r, g, b]``: the output colour at the lattice point
``(r, g, b) / (N - 1)`` of the unit RGB cube, read between lattice points by trilinear interpolation
(what ffmpeg's ``lut3d=interp=trilinear``, Resolve and most graders do).

The fit (:func:`fit_table`) solves a regularised least-squares problem on the lattice values ``x``
(N³ × 3): with ``W`` the trilinear weights of each sample colour's 8 lattice corners and ``c`` the
samples' weights (summing to 1),

    min_x  Σ_p c_p |W_p x - t_p|²  +  λ ∫ |∂²f/∂r²|² + |∂²f/∂g²|² + |∂²f/∂b²|²  +  μ ∫_far |f - a|²

The smoothness term is the sum of squared second differences along each lattice axis, scaled to
approximate the integral, so ``λ`` means the same at every lattice size.  It departs from a plain
discrete Laplacian: ``|Δf|²`` leaves every harmonic function free, so cells without data could
wander; per-axis second differences only leave functions that are affine along each axis (8 per
channel), which the data pin down.  Cells without data follow the data's trend smoothly (no
banding); those more than ``FAR`` cells from any data are also pulled weakly (weight ``μ``) toward
``a``, the best affine colour map of the data, so colours the photo never had get the look's overall
grade.  We anchor to that map rather than to the identity: on pair 1 with the authors' result
(λ = 1e-4), the identity anchor folded 7-12% of the lattice cells over (Jacobian det < -0.1), the
affine one 0.01-0.02% (docs/lut.md).  An identity map has no second differences and is its own
affine fit, so it is fitted exactly.  The normal equations of the 3 channels share one sparse
matrix and are solved together by multigrid-preconditioned conjugate gradients.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from scipy.ndimage import binary_dilation

FAR = 2  # lattice cells without data within this many cells are pulled toward the anchor
MAX_SAMPLES = 1 << 22  # more colour pairs than this are subsampled regularly
BINS = 128  # samples are pooled in BINS³ source-colour bins before the fit (means, not centres)
DIRECT = 5  # the multigrid's coarsest lattice has at most DIRECT³ nodes, solved directly
RTOL, MAX_STEPS = 1e-6, 200  # conjugate gradients: relative residual to reach, most steps
_CHUNK = 1 << 20  # pixels interpolated at a time by apply_table (bounds its temporaries)
MAX_CUBE_SIZE = 256  # the largest LUT_3D_SIZE the .cube specification allows


def identity_table(size: int) -> np.ndarray:
    """The identity LUT, (N, N, N, 3) float64: ``table[r, g, b] = (r, g, b) / (N - 1)``."""
    _check_size(size)
    axis = np.linspace(0.0, 1.0, size)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= size <= MAX_CUBE_SIZE:
        raise ValueError(f"LUT size {size!r}: expected a whole number from 2 to {MAX_CUBE_SIZE}")


def _colours(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim < 2 or a.shape[-1] != 3 or not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{what}: expected RGB colours of shape (..., 3), got {a.shape}")
    return a.reshape(-1, 3)


def _corners(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Trilinear interpolation of (M, 3) colours in [0, 1] on an N³ lattice: the flat indices
    ``(r N + g) N + b`` of each colour's 8 cell corners and their weights, both (M, 8)."""
    p = np.clip(rgb, 0.0, 1.0) * (size - 1)
    i0 = np.minimum(p.astype(np.int64), size - 2)
    f = p - i0
    idx, w = [], []
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                idx.append(((i0[:, 0] + dr) * size + i0[:, 1] + dg) * size + i0[:, 2] + db)
                w.append(
                    (f[:, 0] if dr else 1 - f[:, 0])
                    * (f[:, 1] if dg else 1 - f[:, 1])
                    * (f[:, 2] if db else 1 - f[:, 2])
                )
    return np.stack(idx, 1), np.stack(w, 1)


def _pool(source: np.ndarray, target: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """Samples pooled by source colour into BINS³ bins: (mean source, mean target, total weight) of
    the non-empty bins.  A 12-megapixel photo becomes a few hundred thousand samples; the means (not
    the bin centres) keep the fit's data where the pixels were."""
    q = np.minimum((np.clip(source, 0, 1) * BINS).astype(np.int64), BINS - 1)
    key = (q[:, 0] * BINS + q[:, 1]) * BINS + q[:, 2]
    mass = np.bincount(key, weight, minlength=BINS**3)
    keep = np.flatnonzero(mass > 0)
    sums = [
        np.bincount(key, weight * a[:, c], minlength=BINS**3)[keep]
        for a in (source, target)
        for c in range(3)
    ]
    m = mass[keep]
    return np.stack(sums[:3], 1) / m[:, None], np.stack(sums[3:], 1) / m[:, None], m


def _second_differences(size: int) -> sp.csr_matrix:
    """Σ over the 3 axes of (second differences along it)ᵀ(second differences along it), N³ × N³."""
    d2 = sp.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(size - 2, size))
    p = (d2.T @ d2).tocsr()
    eye = sp.identity(size, format="csr")
    return (
        sp.kron(sp.kron(p, eye), eye) + sp.kron(sp.kron(eye, p), eye) + sp.kron(eye, sp.kron(eye, p))
    ).tocsr()


def fit_table(
    source: np.ndarray,
    target: np.ndarray,
    size: int,
    smoothness: float,
    anchor: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The N³ LUT that best maps ``source`` colours to ``target`` colours, smoothly (module docstring).

    source, target: (..., 3) sRGB in [0, 1], pixel for pixel (a photo and its restyled result at
    the same size); weights: optional (...) non-negative weights of the pairs.  smoothness: λ > 0,
    the weight of the second-derivative prior (a feature of size ℓ in colour space is smoothed out
    where the data's density ρ, relative to uniform, has λ/ℓ⁴ ≳ ρ); anchor: μ ≥ 0, the pull of
    lattice cells far from all data toward the data's affine colour map.  Returns (N, N, N, 3)
    float64 in [0, 1], ``table[r, g, b]``."""
    src, dst, w = _check_fit(source, target, size, smoothness, anchor, weights)
    if len(src) > MAX_SAMPLES:  # a regular subsample: 12 MP fits in 0.9 s instead of 3.2, within 1.3/255
        step = -(-len(src) // MAX_SAMPLES)
        src, dst, w = src[::step], dst[::step], w[::step]
        if w.sum() <= 0:
            raise ValueError("weights: the subsample of the colour pairs has weight 0")
    src, dst, mass = _pool(src.astype(np.float64), dst.astype(np.float64), w / w.sum())
    a, b, start = _system(src, dst, mass, size, smoothness, anchor)
    return np.clip(_solve(a, b, start, size), 0.0, 1.0).reshape(size, size, size, 3)


def _check_fit(
    source: np.ndarray, target: np.ndarray, size: int, smoothness: float, anchor: float, weights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fit_table's inputs checked: (M, 3) source and target in their own dtype, (M,) weights."""
    _check_size(size)
    src, dst = _colours(source, "source"), _colours(target, "target")
    if src.shape != dst.shape:
        raise ValueError(f"source and target must pair colour for colour, got {src.shape} and {dst.shape}")
    if len(src) == 0:
        raise ValueError("source and target hold no colours")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("source and target colours must be finite")
    if not (math.isfinite(smoothness) and smoothness > 0):
        raise ValueError(f"smoothness {smoothness!r}: must be a number > 0")
    if not (math.isfinite(anchor) and anchor >= 0):
        raise ValueError(f"anchor {anchor!r}: must be a number >= 0")
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (len(src),) or not np.isfinite(w).all() or w.min() < 0 or w.sum() <= 0:
        raise ValueError("weights: one finite, non-negative weight per colour pair, not all 0")
    return src, dst, w


def affine_map(source: np.ndarray, target: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """The weighted least-squares affine colour map ``target ≈ [source, 1] @ coef``: coef (4, 3).

    Ridge-regularised toward the identity (1e-6 of the total weight), so that degenerate data (a
    single colour, a grey ramp) give the identity in the directions they leave free."""
    x = np.c_[source, np.ones(len(source))]
    ridge = 1e-6 * mass.sum() * np.eye(4)
    return np.linalg.solve((x * mass[:, None]).T @ x + ridge, (x * mass[:, None]).T @ target + ridge[:, :3])


def _system(
    src: np.ndarray, dst: np.ndarray, mass: np.ndarray, size: int, smoothness: float, anchor: float
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The normal equations A x = b of the fit on an N³ lattice, A (N³, N³) sparse, b (N³, 3), and
    the anchor map at the lattice points (N³, 3), CG's start."""
    idx, tw = _corners(src, size)  # U, 8
    n3, h = size**3, 1.0 / (size - 1)
    rows = np.repeat(np.arange(len(idx)), 8)
    data = sp.csr_matrix((tw.ravel(), (rows, idx.ravel())), shape=(len(idx), n3))
    a = data.T @ data.multiply(mass[:, None]).tocsr()  # Wᵀ C W
    b = data.T @ (mass[:, None] * dst)  # Wᵀ C t
    # ∫ |∂²f|² dV ≈ Σ h³ (Δ² x / h²)² = Σ (Δ² x)² / h
    a = a + (smoothness / h) * _second_differences(size)
    # the anchor: μ ∫ |f - affine|² over cells far from data, plus 1e-6 of it everywhere, which only
    # makes the system positive definite when the data leave a multilinear direction free
    occupied = (np.bincount(idx.ravel(), tw.ravel(), minlength=n3) > 0).reshape(size, size, size)
    far = ~binary_dilation(occupied, np.ones((3, 3, 3), bool), iterations=FAR)
    pull = h**3 * (anchor * far.ravel() + 1e-6)
    lattice = identity_table(size).reshape(-1, 3)
    target = np.c_[lattice, np.ones(n3)] @ affine_map(src, dst, mass)
    return (a + sp.diags(pull)).tocsr(), b + pull[:, None] * target, target


def _solve(a: sp.csr_matrix, b: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """A x = b for the lattice values x (N³, 3): conjugate gradients preconditioned by one multigrid
    V-cycle, from ``x``.

    The smoothness prior makes A as stiff as a biharmonic operator (condition ~N⁴): Jacobi-
    preconditioned CG took ~1700 steps at N = 33, SuperLU 30 s; with the V-cycle it takes ~25 steps,
    about a second, at every smoothness from 1e-5 to 1e-2."""
    levels, coarsest = _hierarchy(a, size)
    r = b - a @ x
    z = _v_cycle(levels, coarsest, r)
    p, rz = z, (r * z).sum(0)
    stop = RTOL * np.linalg.norm(b, axis=0)
    for _ in range(MAX_STEPS):
        if (np.linalg.norm(r, axis=0) <= stop).all():
            break
        q = a @ p
        pq = (p * q).sum(0)
        alpha = np.divide(rz, pq, out=np.zeros(3), where=pq > 0)
        x, r = x + alpha * p, r - alpha * q
        z = _v_cycle(levels, coarsest, r)
        rz_new = (r * z).sum(0)
        p = z + np.divide(rz_new, rz, out=np.zeros(3), where=rz > 0) * p
        rz = rz_new
    return x


def _hierarchy(a: sp.csr_matrix, size: int) -> tuple[list[tuple], tuple]:
    """Galerkin multigrid levels (A, ω D⁻¹, P) from the N³ lattice down to one of at most DIRECT³
    nodes, and the Cholesky factor of that last one.  P interpolates a lattice of (N + 1) // 2 to
    one of N trilinearly, as a LUT is read; A_coarse = Pᵀ A P."""
    levels = []
    while size > DIRECT:
        half = (size + 1) // 2
        idx, w = _corners(identity_table(size).reshape(-1, 3), half)
        rows = np.repeat(np.arange(size**3), 8)
        p = sp.csr_matrix((w.ravel(), (rows, idx.ravel())), shape=(size**3, half**3))
        d = a.diagonal()
        # damped Jacobi, ω = 1 / (Gershgorin bound of D⁻¹ A), so each sweep only damps
        omega = 1.0 / float((abs(a).sum(1).A1 / d).max())
        levels.append((a, (omega / d)[:, None], p))
        a, size = (p.T @ a @ p).tocsr(), half
    return levels, cho_factor(a.toarray())


def _v_cycle(levels: list[tuple], coarsest: tuple, r: np.ndarray, k: int = 0) -> np.ndarray:
    """One symmetric V-cycle (a damped Jacobi sweep before and after) for A z = r, from z = 0."""
    if k == len(levels):
        return cho_solve(coarsest, r)
    a, smooth, p = levels[k]
    z = smooth * r
    z = z + p @ _v_cycle(levels, coarsest, p.T @ (r - a @ z), k + 1)
    return z + smooth * (r - a @ z)


def apply_table(table: np.ndarray, image: np.ndarray, domain: np.ndarray | None = None) -> np.ndarray:
    """``image`` (..., 3) through the LUT ``table`` (N, N, N, 3) by trilinear interpolation: float32
    of the image's shape.  Inputs outside the domain (default [0, 1]; a (2, 3) array of its minimum
    and maximum otherwise) are clamped to its edge, as the .cube specification says."""
    table = np.asarray(table, dtype=np.float32)
    if table.ndim != 4 or table.shape[3] != 3 or len(set(table.shape[:3])) != 1:
        raise ValueError(f"a LUT table must have shape (N, N, N, 3), got {table.shape}")
    size = table.shape[0]
    _check_size(size)
    image = np.asarray(image)
    if image.shape[-1:] != (3,):
        raise ValueError(f"image: expected RGB colours of shape (..., 3), got {image.shape}")
    lo, span = _domain(domain)
    flat, x = table.reshape(-1, 3), image.reshape(-1, 3)
    out = np.empty(x.shape, np.float32)
    offsets = [(dr * size + dg) * size + db for dr in (0, 1) for dg in (0, 1) for db in (0, 1)]
    for start in range(0, len(x), _CHUNK):
        p = np.clip((x[start : start + _CHUNK].astype(np.float32) - lo) / span, 0.0, 1.0) * (size - 1)
        i0 = np.minimum(p.astype(np.int32), size - 2)
        f = p - i0
        base = (i0[:, 0] * size + i0[:, 1]) * size + i0[:, 2]
        c = [np.take(flat, base + o, axis=0) for o in offsets]  # c[4 dr + 2 dg + db]: chunk × 3 each
        fr, fg, fb = f[:, :1], f[:, 1:2], f[:, 2:]
        c00, c01 = c[0] + fb * (c[1] - c[0]), c[2] + fb * (c[3] - c[2])
        c10, c11 = c[4] + fb * (c[5] - c[4]), c[6] + fb * (c[7] - c[6])
        c0, c1 = c00 + fg * (c01 - c00), c10 + fg * (c11 - c10)
        out[start : start + _CHUNK] = c0 + fr * (c1 - c0)
    return out.reshape(image.shape)


def jacobian_determinants(table: np.ndarray) -> np.ndarray:
    """det of the LUT's Jacobian in each lattice cell, by forward differences from its lower corner:
    (N-1, N-1, N-1), in units of the identity (1 everywhere for it).  A negative value is a fold-over:
    two colours swapping order, the sign of a LUT fitted to noise."""
    t = np.asarray(table, dtype=np.float64)
    n = t.shape[0] - 1
    jac = np.stack(
        [
            t[1:, :-1, :-1] - t[:-1, :-1, :-1],
            t[:-1, 1:, :-1] - t[:-1, :-1, :-1],
            t[:-1, :-1, 1:] - t[:-1, :-1, :-1],
        ],
        -1,
    )
    return np.linalg.det(jac) * n**3  # (N-1)³, each column ∂f/∂(r, g, b) scaled by the spacing


def _domain(domain: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if domain is None:
        return np.zeros(3, np.float32), np.ones(3, np.float32)
    d = np.asarray(domain, dtype=np.float32)
    if d.shape != (2, 3) or not np.isfinite(d).all() or (d[1] <= d[0]).any():
        raise ValueError("domain: a (2, 3) array of finite minimum and maximum, maximum > minimum")
    return d[0], d[1] - d[0]


# --- the .cube format (Adobe Cube LUT Specification 1.0) ----------------------------------------------


def format_cube(
    table: np.ndarray, title: str = "", comments: Sequence[str] = (), domain: np.ndarray | None = None
) -> str:
    """``table`` (N, N, N, 3) as the text of a .cube file: ``TITLE``, ``# comments``,
    ``LUT_3D_SIZE N``, ``DOMAIN_MIN``/``DOMAIN_MAX``, then N³ lines ``r g b`` with 6 decimals, the red
    index changing fastest, then green, then blue."""
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 4 or table.shape[3] != 3 or len(set(table.shape[:3])) != 1:
        raise ValueError(f"a LUT table must have shape (N, N, N, 3), got {table.shape}")
    _check_size(table.shape[0])
    if not np.isfinite(table).all():
        raise ValueError("a LUT table must hold finite values")
    lo, span = _domain(domain)
    head = [f'TITLE "{_one_line(title).replace(chr(34), chr(39))}"'] if title else []
    head += [f"# {_one_line(c)}".rstrip() for c in comments]
    head.append(f"LUT_3D_SIZE {table.shape[0]}")
    head.append("DOMAIN_MIN " + " ".join(f"{v:.6f}" for v in lo))
    head.append("DOMAIN_MAX " + " ".join(f"{v:.6f}" for v in lo + span))
    rows = table.transpose(2, 1, 0, 3).reshape(-1, 3)  # [b, g, r] in C order: red fastest
    # round once, then print: "%.6f" of a rounded value is the rounded value, and -0.000000 is avoided
    rows = np.round(rows, 6) + 0.0
    body = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in rows.tolist())
    return "\n".join(head) + "\n" + body + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_NUMBER = re.compile(r"^[-+.\d]")


def parse_cube(text: str) -> tuple[np.ndarray, np.ndarray, str]:
    """A .cube file's text as (table (N, N, N, 3) float64 ``table[r, g, b]``, domain (2, 3), title).

    Accepts what other tools write: ``#`` comments and blank lines anywhere, ``TITLE``,
    ``DOMAIN_MIN``/``DOMAIN_MAX`` or Resolve's ``LUT_3D_INPUT_RANGE``, other keywords (ignored),
    Windows line ends.  1D LUTs (``LUT_1D_SIZE``) are refused with a ValueError, as is anything that
    is not N³ rows of 3 numbers after ``LUT_3D_SIZE N``."""
    size, title, rows = 0, "", []
    lo, hi = np.zeros(3), np.ones(3)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _NUMBER.match(line):
            rows.append(_numbers(line.split("#")[0], 3, number))
            continue
        key, _, rest = line.partition(" ")
        rest = rest.strip()
        if key == "TITLE":
            title = rest.strip('"')
            continue
        rest = rest.split("#")[0]
        if key.startswith("LUT_1D"):
            raise ValueError(f"line {number}: {key}: a 1D LUT; only 3D LUTs (LUT_3D_SIZE) are supported")
        if key == "LUT_3D_SIZE":
            value = _numbers(rest, 1, number)[0]
            if size or value != int(value) or not 2 <= value <= MAX_CUBE_SIZE:
                raise ValueError(f"line {number}: LUT_3D_SIZE {rest}: expected one size from 2 to 256")
            size = int(value)
        elif key == "DOMAIN_MIN":
            lo = np.array(_numbers(rest, 3, number))
        elif key == "DOMAIN_MAX":
            hi = np.array(_numbers(rest, 3, number))
        elif key == "LUT_3D_INPUT_RANGE":
            lo, hi = (np.full(3, v) for v in _numbers(rest, 2, number))
    if not size:
        raise ValueError("no LUT_3D_SIZE line: not a 3D .cube LUT")
    if len(rows) != size**3:
        raise ValueError(f"LUT_3D_SIZE {size} needs {size**3} rows of r g b, found {len(rows)}")
    if (hi <= lo).any():
        raise ValueError(f"DOMAIN_MAX {hi.tolist()} must exceed DOMAIN_MIN {lo.tolist()} in every channel")
    table = np.array(rows).reshape(size, size, size, 3).transpose(2, 1, 0, 3)  # file order [b, g, r]
    return np.ascontiguousarray(table), np.stack([lo, hi]), title


def _numbers(text: str, count: int, number: int) -> list[float]:
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "..."
        raise ValueError(f"line {number}: {shown!r}: expected {count} finite number(s)")
    return values
