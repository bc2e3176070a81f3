"""Registration of each visit measured on the drizzled output grid.

AstroDrizzle keeps every input exposure drizzled alone onto the output grid
(``<rootname>_single_sci.fits``). If a visit's WCS is changed after TweakReg (e.g.
AstroDrizzle run with ``updatewcs=True``, or a header edited by hand), its stars land
at other output pixels than the other visits' stars. Below about 1 px cosmic-ray
rejection does not notice (see :mod:`checks.weight_imprint`), but the combined PSF is
broadened. This check measures the offset directly.

The statistic
-------------
1. Stars: the TweakReg source catalogues (RA/Dec to output pixels with the singles'
   WCS), or, without catalogues, the local maxima above ``detect_snr`` background
   sigmas of a reference image: the drizzled product's SCI when given (and on the same
   grid), else the pixel-wise median of the singles. Each star is moved to the highest
   reference pixel within ``search_radius``, then uphill to the local maximum;
   duplicates are merged. Only stars whose
   background-subtracted reference peak is ``snr_min``-``snr_max`` background sigmas
   (not faint, not saturated) and that have no other reference peak (above
   ``neighbour_snr``) brighter than ``neighbour_fraction`` of theirs within
   ``isolation_radius`` are used.
2. Per visit, a coarse integer offset: the median offset of the highest single pixel
   within ``coarse_radius`` of each star (so misregistrations of a few pixels are
   still measured, not lost).
3. Per visit and star, a Gaussian-windowed centroid (window sigma ``sigma_window``,
   iterated to its fixed point, which is the centre of a symmetric PSF whatever the
   window) in a ``2 half_size + 1`` px cutout, background-subtracted by the median of
   the cutout border. A cutout with a NaN or exactly-0 pixel (chip gap, footprint
   edge, rejected pixel) or a peak below ``snr_min`` in that single is not used: a
   star counts only for the visits that cover it.
4. Model ``position(star, visit) = X(star) + offset(visit)``, solved by alternating
   robust estimates: for each visit, ``offset`` is the sigma-clipped mean over stars of
   its position minus the median position of the same star in the OTHER visits (their
   own offsets removed; leave-one-out, so the residuals are independent of the visit
   judged); offsets are then referred to their median over visits. With three or more
   visits a single misregistered visit therefore carries the whole offset and the
   others stay near 0; with two visits the blame cannot be split and both report their
   full relative offset.

The value is ``|(dx, dy)|`` in output pixels, with its standard error from the clipped
scatter; it is judged only when significant (chi-square of ``(dx, dy)`` with two
degrees of freedom, p < ``alpha``). Biases common to all visits (PSF asymmetry,
neighbours, the window, the output pixel phase) cancel in the differences; single
images are not cosmic-ray cleaned, and a hit star is an outlier removed by the
clipping (and by the median over the other visits).
"""
from __future__ import annotations

import math
import warnings
from typing import Iterator

import numpy as np
from astropy.stats import mad_std, sigma_clip

from .display import Column
from .products import DrizzledImage, SingleDrizzled, SourceCatalog
from .registry import check
from .result import Measurement, Status
from .stars import cutouts, find_peaks, isolated, nanmedian, refine, sampled_background

__all__ = ["visit_registration", "measure_offsets"]



def _valid(img: np.ndarray) -> np.ndarray:
    return np.isfinite(img) & (img != 0)


def _reference(single, drc) -> tuple[np.ndarray, str]:
    shape = single[0].sci.shape
    if drc is not None and drc.sci.shape == shape:
        return drc.sci, f"SCI of {drc.name}"  # as stored: a float64 copy would be a full copy
    stack = np.stack([np.where(_valid(s.sci), s.sci, np.nan) for s in single]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels (outside all)
        ref = np.nanmedian(stack, axis=0)
    return ref, "median of the single images"


def _cutouts(img: np.ndarray, x: np.ndarray, y: np.ndarray, h: int) -> np.ndarray:
    """``(n, 2h+1, 2h+1)`` float cutouts centred on integer ``x, y`` (NaN off the image)."""
    return cutouts(img, x, y, h)


def _nanmedian0(a: np.ndarray) -> np.ndarray:
    return nanmedian(a, axis=0)


def _centroid(cut: np.ndarray, sigma: float, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-windowed centroid (offsets from the cutout centre), iterated to its fixed
    point; NaN where it does not converge inside the cutout."""
    n, size, _ = cut.shape
    h = size // 2
    g = np.arange(-h, h + 1, dtype=float)
    x = np.zeros(n)
    y = np.zeros(n)
    with np.errstate(all="ignore"):
        for _ in range(n_iter):
            # separable window: exp(-(dx^2 + dy^2)/2s^2) = wx(x) * wy(y)
            wx = np.exp(-(g[None, :] - x[:, None]) ** 2 / (2 * sigma ** 2))
            wy = np.exp(-(g[None, :] - y[:, None]) ** 2 / (2 * sigma ** 2))
            row = np.einsum("nij,nj->ni", cut, wx)  # sum over x of cut * wx, per row
            col = np.einsum("nij,ni->nj", cut, wy)  # sum over y of cut * wy, per column
            sw = np.einsum("ni,ni->n", row, wy)
            nx_ = np.clip(np.einsum("nj,nj->n", col, wx * g) / sw, -h, h)
            ny_ = np.clip(np.einsum("ni,ni->n", row, wy * g) / sw, -h, h)
            d = np.abs(np.concatenate([nx_ - x, ny_ - y]))
            d = d[np.isfinite(d)]
            moved = float(d.max()) if d.size else 0.0
            x, y = nx_, ny_
            if not moved > 1e-7:  # converged (NaN rows stay NaN either way)
                break
    bad = ~(np.isfinite(x) & np.isfinite(y)) | (np.abs(x) > h - 2) | (np.abs(y) > h - 2)
    return np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def _mad_or_std(v: np.ndarray, axis: int | None = None) -> float:
    """``mad_std``, or the standard deviation where the MAD is 0 (over half the values tie)."""
    s = mad_std(v, axis=axis)
    return s if s > 0 else np.std(v, axis=axis)


def _clipped_mean(v: np.ndarray, clip: float, n_iter: int = 5) -> tuple[float, float, np.ndarray]:
    """Sigma-clipped mean (median centre, MAD-based scale), its standard error and the
    kept mask (finite values only)."""
    keep = np.isfinite(v)
    clipped = sigma_clip(v[keep], sigma=clip, maxiters=n_iter, cenfunc="median",
                         stdfunc=_mad_or_std)
    keep[keep] = ~np.ma.getmaskarray(clipped)
    n = int(keep.sum())
    if n == 0:
        return math.nan, math.nan, keep
    mean = float(np.mean(v[keep]))
    se = float(np.std(v[keep], ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return mean, se, keep


def _stars(single, catalogs, drc, *, search_radius, detect_snr, snr_min, snr_max,
           neighbour_snr, isolation_radius, neighbour_fraction, seed) -> dict:
    ref, ref_name = _reference(single, drc)
    sky, sigma = sampled_background(ref, nonzero=True, seed=seed)
    out = {"reference_image": ref_name, "rejected": {}, "x": np.zeros(0, int),
           "y": np.zeros(0, int), "n_candidates": 0, "star_source": ""}
    if not (np.isfinite(sigma) and sigma > 0):
        out["star_source"] = "none (reference image has no usable background)"
        return out
    cx = cy = None
    if catalogs:
        ra = np.concatenate([np.asarray(c.ra, dtype=float) for c in catalogs])
        dec = np.concatenate([np.asarray(c.dec, dtype=float) for c in catalogs])
        if ra.size:
            cx, cy = (np.asarray(v, dtype=float)
                      for v in single[0].wcs.world_to_pixel_values(ra, dec))
            out["star_source"] = "the TweakReg catalogues"
    if cx is None:
        full = np.asarray(ref, dtype=float)
        x, y = find_peaks(full, _valid(full), sky + detect_snr * sigma)
        out["star_source"] = f"peaks detected in the {ref_name}"
    else:
        ny, nx = ref.shape
        ok = (np.isfinite(cx) & np.isfinite(cy) & (cx > -0.5) & (cx < nx - 0.5)
              & (cy > -0.5) & (cy < ny - 0.5))
        x, y = refine(ref, None, cx[ok], cy[ok], search_radius, nonzero=True)
        for _ in range(5):  # climb to the local maximum (the disk edge may be on a wing)
            x, y = refine(ref, None, x, y, 1.5, nonzero=True)
    if x.size:
        xy = np.unique(np.stack([x, y], axis=1).astype(int), axis=0)
        x, y = xy[:, 0], xy[:, 1]
    out["n_candidates"] = int(x.size)
    rej = out["rejected"]
    at = np.asarray(ref[y, x], dtype=float)
    peak = (at - sky) / sigma
    keep = (peak >= snr_min) & (peak <= snr_max) & _valid(at)
    rej["faint"] = int((peak < snr_min).sum())
    rej["bright"] = int((peak > snr_max).sum())
    x, y = x[keep], y[keep]
    # Isolation: no other reference peak within isolation_radius brighter than
    # neighbour_fraction of the star's peak (fainter ones, such as the star's own PSF
    # ring, shift every visit's centroid alike and cancel in the differences).
    if x.size:
        ok = isolated(ref, x, y, np.asarray(ref[y, x], dtype=float) - sky,
                      sky + neighbour_snr * sigma, isolation_radius, neighbour_fraction,
                      sky)
        rej["crowded"] = int((~ok).sum())
        x, y = x[ok], y[ok]
    out.update(x=x, y=y, sky=sky, sigma=sigma)
    return out


def measure_offsets(single: tuple[SingleDrizzled, ...], x: np.ndarray, y: np.ndarray, *,
                    half_size: int = 5, sigma_window: float = 1.5, coarse_radius: float = 4.0,
                    snr_min: float = 20.0, clip_sigma: float = 3.0, n_iter: int = 30,
                    min_stars: int = 2, seed: int = 0) -> dict:
    """Per-visit offsets of the stars at integer ``x, y`` (0-based output pixels).

    Returns
    -------
    dict
        ``pos_x, pos_y`` (n_visits, n_stars) centroids (NaN: not measured), ``dx, dy,
        se_x, se_y, n_stars, n_clipped`` per visit (offsets referred to the median visit),
        ``coarse`` integer offsets, ``n_covered`` (stars whose cutout the visit fully
        covers) and ``n_bright`` (of those, peak >= ``snr_min`` in the visit) per visit.
    """
    nv, ns = len(single), x.size
    pos_x = np.full((nv, ns), np.nan)
    pos_y = np.full((nv, ns), np.nan)
    coarse = []
    n_covered = np.zeros(nv, int)
    n_bright = np.zeros(nv, int)
    cr = int(math.ceil(coarse_radius))
    for v, s in enumerate(single):
        img = s.sci
        _, sig = sampled_background(img, nonzero=True, seed=seed)
        if not (np.isfinite(sig) and sig > 0) or ns == 0:
            coarse.append((0, 0))
            continue
        # Coarse integer offset: median offset of the highest pixel near each star.
        big = _cutouts(img, x, y, cr)
        flat = np.where(np.isfinite(big) & (big != 0), big, -np.inf).reshape(ns, -1)
        best = np.argmax(flat, axis=1)
        found = np.isfinite(flat[np.arange(ns), best])
        by, bx = np.divmod(best, 2 * cr + 1)
        ox = int(np.median(bx[found] - cr)) if found.any() else 0
        oy = int(np.median(by[found] - cr)) if found.any() else 0
        coarse.append((ox, oy))
        cut = _cutouts(img, x + ox, y + oy, half_size)
        covered = np.all(np.isfinite(cut) & (cut != 0), axis=(1, 2))
        border = np.concatenate([cut[:, 0, :], cut[:, -1, :], cut[:, 1:-1, 0],
                                 cut[:, 1:-1, -1]], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bkg = np.nanmedian(border, axis=1)
        cut = cut - bkg[:, None, None]
        core = cut[:, half_size - 1:half_size + 2, half_size - 1:half_size + 2]
        core = np.where(np.isfinite(core), core, -np.inf).reshape(ns, -1)
        bright = np.max(core, axis=1) / sig >= snr_min
        use = covered & bright
        n_covered[v], n_bright[v] = int(covered.sum()), int(use.sum())
        cx, cy = _centroid(cut[use], sigma_window, n_iter)
        pos_x[v, use] = x[use] + ox + cx
        pos_y[v, use] = y[use] + oy + cy
    # A visit with too few stars neither gets an offset nor counts in the references.
    few = n_bright < min_stars
    pos_x[few] = np.nan
    pos_y[few] = np.nan

    off = np.zeros((nv, 2))
    res = {}
    for _ in range(50):  # alternate: offsets given the others' consensus, then re-centre
        new = np.zeros((nv, 2))
        for v in range(nv):
            others = [u for u in range(nv) if u != v]
            rx = _nanmedian0(pos_x[others] - off[others, :1])  # NaN: no other visit has it
            ry = _nanmedian0(pos_y[others] - off[others, 1:])
            ddx, ddy = pos_x[v] - rx, pos_y[v] - ry
            both = np.isfinite(ddx) & np.isfinite(ddy)
            mx, sx, kx = _clipped_mean(np.where(both, ddx, np.nan), clip_sigma)
            my, sy, ky = _clipped_mean(np.where(both, ddy, np.nan), clip_sigma)
            new[v] = (mx, my) if not few[v] else (np.nan, np.nan)
            res[v] = {"se_x": sx, "se_y": sy, "n_stars": int(both.sum()),
                      "n_clipped": int(both.sum() - (kx & ky).sum())}
        if (~few).sum() < 3:  # two visits: one pass, each keeps the full relative offset
            break
        new -= np.nanmedian(new[~few], axis=0)
        done = np.allclose(np.nan_to_num(new), off, atol=1e-6)
        off = np.nan_to_num(new)  # unmeasurable visits: no offset in the references
        if done:
            break
    off = new  # NaN where not measurable
    return {"pos_x": pos_x, "pos_y": pos_y, "dx": off[:, 0], "dy": off[:, 1],
            "se_x": np.array([res[v]["se_x"] for v in range(nv)]),
            "se_y": np.array([res[v]["se_y"] for v in range(nv)]),
            "n_stars": np.array([res[v]["n_stars"] for v in range(nv)]),
            "n_clipped": np.array([res[v]["n_clipped"] for v in range(nv)]),
            "coarse": coarse, "n_covered": n_covered, "n_bright": n_bright}


@check("visit_registration", needs=("single",), optional=("catalogs", "drc"), unit="pix",
       summary=(Column("visit offset (max)", "max"),),
       description="The stars of one visit's single-drizzled image are offset from the "
                   "same stars in the other visits: its WCS changed after alignment, so "
                   "the combined image blurs or doubles the PSF")
def visit_registration(single: tuple[SingleDrizzled, ...],
                       catalogs: tuple[SourceCatalog, ...] = (),
                       drc: DrizzledImage | None = None, *,
                       search_radius: float = 2.0, detect_snr: float = 10.0,
                       snr_min: float = 20.0, snr_max: float = 2000.0,
                       neighbour_snr: float = 5.0, isolation_radius: float = 5.0,
                       neighbour_fraction: float = 0.1,
                       half_size: int = 5, sigma_window: float = 1.5,
                       coarse_radius: float = 4.0, clip_sigma: float = 3.0,
                       min_stars: int = 10, alpha: float = 1e-3,
                       seed: int = 0) -> Iterator[Measurement]:
    """Offset of each visit's stars from the same stars in the other visits (output px).

    Parameters
    ----------
    single : tuple of SingleDrizzled
        The per-exposure single-drizzled images (same output grid).
    catalogs : tuple of SourceCatalog, optional
        TweakReg source catalogues (RA/Dec); without them stars are detected.
    drc : DrizzledImage, optional
        The combined product: its (cosmic-ray cleaned) SCI is the reference image for
        finding and selecting stars; else the pixel-wise median of the singles is.
    search_radius, detect_snr, snr_min, snr_max, neighbour_snr, isolation_radius, \
neighbour_fraction
        Star selection (see the module docstring); S/N in background sigmas of peaks.
    half_size, sigma_window, coarse_radius, clip_sigma
        Centroid cutout half-size (px), Gaussian window sigma (px), radius of the
        coarse peak search (px), clipping of per-star offsets (sigmas, MAD-based).
    min_stars : int
        A visit with fewer stars measured in it and at least one other visit is
        skipped with the reason.
    alpha : float
        Level of the chi-square test (2 dof) of ``(dx, dy)`` against its standard
        errors; an offset that is not significant passes.

    Yields
    ------
    Measurement
        One per single image (subject: its rootname): ``value = |(dx, dy)|``.
    """
    single = tuple(sorted(single, key=lambda s: s.rootname))
    if len(single) < 2:
        names = ", ".join(s.name for s in single)
        yield Measurement(subject=single[0].rootname if single else "single",
                          value=math.nan, status=Status.SKIP,
                          message=f"Visit registration not measurable: it needs at least "
                                  f"two single-drizzled images, found {len(single)} "
                                  f"({names}).")
        return
    shapes = {s.sci.shape for s in single}
    if len(shapes) > 1:
        yield Measurement(subject=single[0].rootname, value=math.nan, status=Status.ERROR,
                          message="The single-drizzled images are not on one output grid "
                                  f"(shapes {sorted(shapes)}).")
        return
    st = _stars(single, tuple(catalogs or ()), drc, search_radius=search_radius,
                detect_snr=detect_snr, snr_min=snr_min, snr_max=snr_max,
                neighbour_snr=neighbour_snr, isolation_radius=isolation_radius,
                neighbour_fraction=neighbour_fraction, seed=seed)
    m = measure_offsets(single, st["x"], st["y"], half_size=half_size,
                        sigma_window=sigma_window, coarse_radius=coarse_radius,
                        snr_min=snr_min, clip_sigma=clip_sigma, min_stars=min_stars,
                        seed=seed)
    nv = int((m["n_bright"] >= min_stars).sum())
    reference = ("the median position of the same stars in the other visits, offsets "
                 "referred to the median visit" if nv >= 3 else
                 "the same stars in the other single image (two visits: the blame "
                 "cannot be split, both report the full relative offset)")
    common = {
        "star_source": st["star_source"],
        "reference_image": st["reference_image"],
        "n_candidates": st["n_candidates"],
        "n_selected": int(st["x"].size),
        **{f"rejected_{k}": v for k, v in st["rejected"].items()},
        "snr_range": [snr_min, snr_max],
        "reference": reference,
    }
    for v, s in enumerate(single):
        dx, dy = float(m["dx"][v]), float(m["dy"][v])
        sx, sy = float(m["se_x"][v]), float(m["se_y"][v])
        n = int(m["n_stars"][v])
        details = {**common, "dx": _round(dx), "dy": _round(dy), "stderr_x": _round(sx),
                   "stderr_y": _round(sy), "n_stars": n, "n_clipped": int(m["n_clipped"][v]),
                   "n_covered": int(m["n_covered"][v]), "n_bright": int(m["n_bright"][v]),
                   "coarse_offset": list(m["coarse"][v])}
        if n < min_stars or not (math.isfinite(dx) and math.isfinite(dy)
                                 and math.isfinite(sx) and math.isfinite(sy)):
            rejected = ", ".join(f"{k} {val}" for k, val in st["rejected"].items()
                                 if val) or "none"
            yield Measurement(
                subject=s.rootname, value=math.nan, status=Status.SKIP, details=details,
                message=f"Registration of {s.name} not measurable: {n} stars measured in it "
                        f"and another visit (of {st['x'].size} selected from "
                        f"{st['n_candidates']} candidates from {st['star_source']}, "
                        f"rejected: {rejected}; {int(m['n_covered'][v])} fully covered by "
                        f"it, {int(m['n_bright'][v])} of them with a peak >= {snr_min:g} "
                        f"sigma in it); at least {min_stars} are needed.")
            continue
        value = math.hypot(dx, dy)
        se = (math.hypot(dx * sx, dy * sy) / value if value > 0
              else math.sqrt((sx ** 2 + sy ** 2) / 2))
        chi2 = (dx / sx) ** 2 + (dy / sy) ** 2 if sx > 0 and sy > 0 else math.inf
        p = math.exp(-chi2 / 2)  # chi-square survival function, 2 dof
        details.update(stderr=_round(se), p_value=float(f"{p:.3g}"), alpha=alpha)
        yield Measurement(
            subject=s.rootname, value=value, details=details, significant=bool(p < alpha),
            message=f"{s.name}: stars offset by (dx, dy) = ({dx:+.3f}, {dy:+.3f}) +/- "
                    f"({sx:.4f}, {sy:.4f}) px from {reference.split(' (')[0]} "
                    f"({n} stars, {int(m['n_clipped'][v])} clipped); |d| = {value:.3f} "
                    f"+/- {se:.4f} px, p = {p:.2g}.")


def _round(v: float, digits: int = 5) -> float:
    return round(float(v), digits) if math.isfinite(v) else float(v)
