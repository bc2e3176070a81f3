"""Imprints of misaligned stars in the drizzled weight (WHT) image.

When one visit is misaligned, AstroDrizzle's cosmic-ray rejection (``driz_cr``) sees its
stars as discrepant with the median of the other visits and flags their cores. The
flagged pixels get no weight, so the final WHT image shows dips ("imprints") at star
positions. Aligned data show none: cosmic rays hit stars no more often than anywhere
else.

The statistic
-------------
For every usable star, ``ratio = mean WHT within core_radius of the star's SCI peak /
median WHT in an annulus (annulus[0] to annulus[1] px)``, the annulus leaving out pixels
of any source (SCI above ``mask_snr`` background sigmas, grown by one pixel). The same
ratio is measured at ``n_random`` random source-free positions. The value is

    mean(star ratios) / mean(random ratios)

(1.0: no imprint; 0.95: the stars lost 5% of their weight more than random places).
The mean, not the median, because a misaligned visit is one of several: on the real
AstroDrizzle output of a 3-visit set with one visit 1 px off, 50-60% of the stars lose
one to three core pixels of one exposure, so the median ratio barely moves while the
mean drops to 0.95. Normalising by the random positions removes what cosmic-ray hits
do everywhere (~0.2% of the weight). A one-sided Mann-Whitney test (star ratios lower
than random ones) gives the significance, so that weight dips not tied to stars
(cosmic-ray tracks, bad pixels) cannot fail the check however many there are.

Stars are the TweakReg source catalogues (RA/Dec, converted with the drizzled WCS, each
moved to the highest SCI pixel within ``search_radius``), or, without catalogues, the
local maxima of SCI above ``detect_snr`` background sigmas. Only stars whose
background-subtracted peak lies between ``snr_min`` and ``snr_max`` background sigmas
are used (faint stars are hardly ever flagged; bright ones are saturated or their wings
cover the annulus), away from the image edges, with a positive and flat local weight
(annulus-quadrant medians within ``flat_tolerance`` of each other: this leaves out chip
gaps and footprint edges, where the weight steps by a whole exposure).

What it can see: imprints need cosmic-ray rejection to trigger. On real TweakReg +
AstroDrizzle runs of the synthetic data a visit moved by 1 px gives 0.85-0.96, one moved
by 0.25-0.5 px gives no imprint at all (see the note in ``thresholds.toml``).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from scipy import ndimage

from . import plots
from .display import Column, Figure
from .products import DrizzledImage, SourceCatalog
from .registry import check
from .result import Measurement, Status
from .stars import cutouts, disk_offsets, find_peaks, nanmedian, refine, sampled_background

__all__ = ["weight_imprint", "star_ratios"]


class _Sampler:
    """Core and annulus statistics of WHT at integer positions, vectorised.

    Only cutouts around the positions are read: the source mask (SCI above
    ``source_level`` among valid pixels, grown by one pixel) is built inside each
    cutout, which gives the same mask as building it over the whole image.
    """

    def __init__(self, sci, wht, source_level, core_radius, annulus):
        self.sci, self.wht, self.level = sci, wht, source_level
        self.cy, self.cx = disk_offsets(-1.0, core_radius)
        self.ay, self.ax = disk_offsets(annulus[0], annulus[1])
        # Quadrant of each annulus offset (for the flatness test).
        self.quad = (self.ax >= 0).astype(int) * 2 + (self.ay >= 0).astype(int)
        self.radius = int(math.ceil(annulus[1]))
        self.margin = self.radius + 1

    def inside(self, x, y) -> np.ndarray:
        ny, nx = self.wht.shape
        m = self.margin
        return (x >= m) & (x < nx - m) & (y >= m) & (y < ny - m)

    def measure(self, x: np.ndarray, y: np.ndarray) -> dict:
        """Ratio and quality per position (positions must be ``inside``)."""
        r = self.radius
        cs = cutouts(self.sci, x, y, r + 1)
        cw = cutouts(self.wht, x, y, r + 1)
        valid = np.isfinite(cs) & np.isfinite(cw) & (cw > 0)
        src = ndimage.maximum_filter(valid & (cs > self.level), size=(1, 3, 3),
                                     mode="constant", cval=False)[:, 1:-1, 1:-1]
        w = cw[:, 1:-1, 1:-1]
        core_w = w[:, r + self.cy, r + self.cx]
        ann_w = w[:, r + self.ay, r + self.ax]
        usable = ~src[:, r + self.ay, r + self.ax] & np.isfinite(ann_w)
        ann_w = np.where(usable, ann_w, np.nan)
        with np.errstate(all="ignore"):
            ref = nanmedian(ann_w, axis=1)
            quads = np.stack([nanmedian(np.where(self.quad == q, ann_w, np.nan), axis=1)
                              for q in range(4)], axis=1)
            flat = (np.max(quads, axis=1) - np.min(quads, axis=1)) / ref
            ratio = np.mean(core_w, axis=1) / ref
            core_min = np.min(core_w, axis=1) / ref
        n_usable = usable.sum(axis=1)
        return {"ratio": ratio, "ref": ref, "flat": flat, "n_annulus": n_usable,
                "core_min": core_min, "valid": valid[:, r + 1, r + 1],
                "core_source": src[:, r + self.cy, r + self.cx].any(axis=1)}


def star_ratios(drc: DrizzledImage, x: np.ndarray | None = None, y: np.ndarray | None = None,
                *, core_radius: float = 1.5, annulus: tuple[float, float] = (4.0, 8.0),
                search_radius: float = 2.0, detect_snr: float = 10.0,
                snr_min: float = 20.0, snr_max: float = 2000.0, mask_snr: float = 3.0,
                flat_tolerance: float = 0.1, min_annulus_fraction: float = 0.3,
                n_random: int = 2000, seed: int = 0) -> dict:
    """WHT core/annulus ratios at stars and at random source-free positions.

    Parameters
    ----------
    drc : DrizzledImage
        The drizzled product (SCI and WHT are used).
    x, y : ndarray, optional
        Candidate star positions (0-based pixels of ``drc.sci``). ``None``: local
        maxima of SCI above ``detect_snr`` background sigmas.
    core_radius : float
        Radius (px) of the core whose mean WHT is compared.
    annulus : (float, float)
        Inner and outer radius (px) of the reference annulus.
    search_radius : float
        Candidates move to the highest SCI pixel within this radius.
    detect_snr : float
        Peak threshold of the detection without candidates (background sigmas).
    snr_min, snr_max : float
        Range of background-subtracted SCI peaks (background sigmas) of usable stars.
    mask_snr : float
        Pixels above this many background sigmas (grown by one pixel) are sources and
        left out of the annuli and of the random positions.
    flat_tolerance : float
        Maximum spread of the four annulus-quadrant median weights relative to their
        median: larger means the position is on a weight step (footprint edge, gap).
    min_annulus_fraction : float
        Minimum fraction of annulus pixels left after masking sources.
    n_random : int
        Number of random control positions drawn (fewer may be usable).
    seed : int
        Seed of the random positions (the check is deterministic).

    Returns
    -------
    dict
        ``x, y, ratio, peak_snr`` of the usable stars, ``random_ratio``, background
        ``sky, sigma``, ``n_candidates`` and counts of the stars rejected by each cut.
    """
    sci, wht = drc.sci, drc.wht  # memory maps: only what is looked at is read
    sky, sigma = sampled_background(sci, wht, seed=seed)
    out = {"sky": sky, "sigma": sigma, "rejected": {}}
    empty = np.zeros(0)
    if not (np.isfinite(sigma) and sigma > 0):
        out.update(x=empty, y=empty, ratio=empty, peak_snr=empty, core_min=empty,
                   random_ratio=empty, random_core_min=empty, n_candidates=0)
        return out
    sampler = _Sampler(sci, wht, sky + mask_snr * sigma, core_radius, annulus)

    if x is None or y is None:
        full, fw = np.asarray(sci, dtype=float), np.asarray(wht, dtype=float)
        x, y = find_peaks(full, np.isfinite(full) & np.isfinite(fw) & (fw > 0),
                          sky + detect_snr * sigma)
    else:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        ny, nx = sci.shape
        ok &= (x > -0.5) & (x < nx - 0.5) & (y > -0.5) & (y < ny - 0.5)
        x, y = refine(sci, None, x[ok], y[ok], search_radius, weight=wht)
    # One entry per star (several catalogues list the same star).
    if x.size:
        xy = np.unique(np.stack([x, y], axis=1).astype(int), axis=0)
        x, y = xy[:, 0], xy[:, 1]
    out["n_candidates"] = int(x.size)
    rej = out["rejected"]

    keep = sampler.inside(x, y)
    rej["edge"] = int((~keep).sum())
    x, y = x[keep], y[keep]
    peak = (np.asarray(sci[y, x], dtype=float) - sky) / sigma
    keep = (peak >= snr_min) & (peak <= snr_max)
    rej["faint"] = int((peak < snr_min).sum())
    rej["bright"] = int((peak > snr_max).sum())
    x, y, peak = x[keep], y[keep], peak[keep]
    m = sampler.measure(x, y)
    n_ann = sampler.ay.size
    ok = np.isfinite(m["ratio"]) & (m["ref"] > 0)
    rej["no_weight"] = int((~ok).sum())
    crowded = ok & (m["n_annulus"] < min_annulus_fraction * n_ann)
    rej["crowded"] = int(crowded.sum())
    ok &= ~crowded
    step = ok & ~(m["flat"] <= flat_tolerance)
    rej["weight_step"] = int(step.sum())
    ok &= ~step
    out.update(x=x[ok], y=y[ok], ratio=m["ratio"][ok], peak_snr=peak[ok],
               core_min=m["core_min"][ok])

    # Random source-free positions: same measurement, same cuts.
    rng = np.random.default_rng(seed)
    ny, nx = sci.shape
    mgn = sampler.margin
    rx = rng.integers(mgn, nx - mgn, n_random) if nx > 2 * mgn else np.zeros(0, int)
    ry = rng.integers(mgn, ny - mgn, n_random) if ny > 2 * mgn else np.zeros(0, int)
    n = min(rx.size, ry.size)
    rx, ry = rx[:n], ry[:n]
    # Source-free: no source pixel in the core (faint wings included: mask_snr sigma).
    rm = sampler.measure(rx, ry)
    free = rm["valid"] & ~rm["core_source"]
    rm = {k: v[free] for k, v in rm.items()}
    rok = (np.isfinite(rm["ratio"]) & (rm["ref"] > 0)
           & (rm["n_annulus"] >= min_annulus_fraction * n_ann) & (rm["flat"] <= flat_tolerance))
    out["random_ratio"] = rm["ratio"][rok]
    out["random_core_min"] = rm["core_min"][rok]
    return out


def _world_to_pixel(drc: DrizzledImage, catalogs) -> tuple[np.ndarray, np.ndarray]:
    ra = np.concatenate([np.asarray(c.ra, dtype=float) for c in catalogs])
    dec = np.concatenate([np.asarray(c.dec, dtype=float) for c in catalogs])
    if ra.size == 0:
        return ra, dec
    x, y = drc.wcs.world_to_pixel_values(ra, dec)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def imprint_figures(results, products) -> Iterator[Figure]:
    """The drizzled WHT around the stars with the deepest dips (from the results)."""
    if products.drc is None:
        return
    for r in results:
        d = r.details
        if d.get("worst_x"):  # 0-based pixels
            x = [float(v) for v in d["worst_x"]]
            y = [float(v) for v in d["worst_y"]]
            ratio = [float(v) for v in d["worst_ratio"]]
            title = f"WHT at the deepest dips ({r.subject})"
            yield Figure("imprint map", ("imprint", products.drc.path, x, y, ratio, title),
                         lambda x=x, y=y, ratio=ratio, title=title: plots.imprint_map(
                             products.drc.wht, (x, y), ratio, title))


@check("weight_imprint", needs=("drc",), optional=("catalogs",), unit="",
       figures=imprint_figures, summary=(Column("WHT imprint", "min"),),
       description="The drizzled weight image has dips at star positions: cosmic-ray "
                   "rejection flagged the stars of a misaligned visit, so the visits do "
                   "not line up in the combined image")
def weight_imprint(drc: DrizzledImage, catalogs: tuple[SourceCatalog, ...] = (), *,
                   core_radius: float = 1.5, annulus: tuple[float, float] = (4.0, 8.0),
                   search_radius: float = 2.0, detect_snr: float = 10.0,
                   snr_min: float = 20.0, snr_max: float = 2000.0, mask_snr: float = 3.0,
                   flat_tolerance: float = 0.1, min_annulus_fraction: float = 0.3,
                   min_stars: int = 20, alpha: float = 1e-3, n_random: int = 2000,
                   dip_fraction: float = 0.9, max_positions: int = 200,
                   seed: int = 0) -> Iterator[Measurement]:
    """Weight lost at star cores in the drizzled product, relative to random places.

    Parameters
    ----------
    drc : DrizzledImage
        Drizzled product: ``sci``, ``wht`` and ``wcs``.
    catalogs : tuple of SourceCatalog, optional
        TweakReg source catalogues (RA/Dec). Without them stars are found in SCI.
    core_radius, annulus, search_radius, detect_snr, snr_min, snr_max, mask_snr, \
flat_tolerance, min_annulus_fraction, n_random, seed
        See :func:`star_ratios`.
    dip_fraction : float
        A core pixel below this fraction of the local weight counts as a dip (for the
        ``fraction_dipped`` details only).
    min_stars : int
        Fewer usable stars: the check is skipped with the reason (not measurable).
    alpha : float
        Level of the one-sided Mann-Whitney test of star against random-position
        ratios; a dip that is not significant passes.
    max_positions : int
        At most this many of the deepest dips are listed in ``details``.

    Yields
    ------
    Measurement
        One, for the drizzled product: ``value`` = mean star ratio / mean random ratio;
        ``details`` hold the counts, the raw means, the fraction of stars with a dipped
        core pixel, and the positions of up to ``max_positions`` of the deepest dips.
        Too few usable stars gives a ``skip`` with the reason: the check did not run,
        which is not evidence of misalignment (sparse field, everything saturated), and
        not evidence of alignment either.
    """
    catalogs = tuple(catalogs or ())
    source = "the TweakReg catalogues" if catalogs else "peaks detected in SCI"
    if catalogs:
        cx, cy = _world_to_pixel(drc, catalogs)
        if cx.size == 0:
            cx = cy = None
            source = "peaks detected in SCI (the catalogues are empty)"
    else:
        cx = cy = None
    res = star_ratios(drc, cx, cy, core_radius=core_radius, annulus=tuple(annulus),
                      search_radius=search_radius, detect_snr=detect_snr,
                      snr_min=snr_min, snr_max=snr_max, mask_snr=mask_snr,
                      flat_tolerance=flat_tolerance,
                      min_annulus_fraction=min_annulus_fraction, n_random=n_random,
                      seed=seed)
    ratio, rand = res["ratio"], res["random_ratio"]
    details = {
        "star_source": source,
        "n_candidates": res["n_candidates"],
        "n_stars": int(ratio.size),
        "n_random": int(rand.size),
        **{f"rejected_{k}": v for k, v in res["rejected"].items()},
        "sky": _round(res["sky"]),
        "sky_sigma": _round(res["sigma"]),
        "snr_range": [snr_min, snr_max],
    }
    name = drc.name
    if ratio.size < min_stars:
        rejected = ", ".join(f"{v} {k.replace('_', ' ')}"
                             for k, v in res["rejected"].items() if v) or "none"
        why = (f"only {ratio.size} usable stars (of {res['n_candidates']} from {source}; "
               f"rejected: {rejected}); at least {min_stars} are needed")
    elif rand.size < min_stars:
        why = f"only {rand.size} usable random control positions"
    else:
        why = ""
    if why:
        yield Measurement(subject=name, value=math.nan, status=Status.SKIP, details=details,
                          message=f"Weight imprints not measurable: {why}.")
        return
    star_mean, rand_mean = float(np.mean(ratio)), float(np.mean(rand))
    value = star_mean / rand_mean
    # Imported here, not at the top: scipy.stats is the slowest import of the checks and
    # only this measurement uses it; a warm run serves it from the memo and never gets here.
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(ratio, rand, alternative="less").pvalue)
    if not math.isfinite(p):  # all ratios tied (e.g. a perfectly flat weight)
        p = 1.0
    dipped = float(np.mean(res["core_min"] < dip_fraction))
    dipped_random = float(np.mean(res["random_core_min"] < dip_fraction))
    order = np.argsort(ratio, kind="stable")[:max_positions]
    order = order[ratio[order] < 1.0]
    details.update({
        "mean_ratio_stars": _round(star_mean),
        "mean_ratio_random": _round(rand_mean),
        "median_ratio_stars": _round(float(np.median(ratio))),
        "p_value": float(f"{p:.3g}"),
        "alpha": alpha,
        "fraction_dipped": _round(dipped, 4),
        "fraction_dipped_random": _round(dipped_random, 4),
        "worst_x": [round(float(v), 1) for v in res["x"][order]],
        "worst_y": [round(float(v), 1) for v in res["y"][order]],
        "worst_ratio": [round(float(v), 4) for v in ratio[order]],
        "coordinates": "0-based pixels of the drizzled SCI array (x = column, y = row)",
    })
    message = (f"Mean WHT at {ratio.size} star cores / local WHT = {star_mean:.4f}, "
               f"{value:.4f} of the same at {rand.size} random positions; "
               f"{100 * dipped:.1f}% of the stars have a core pixel below "
               f"{dip_fraction:g} of the local weight ({100 * dipped_random:.1f}% of random "
               f"positions); p = {p:.2g}.")
    yield Measurement(subject=name, value=value, message=message, details=details,
                      significant=bool(p < alpha))


def _round(v: float, digits: int = 5) -> float:
    return round(float(v), digits) if math.isfinite(v) else float(v)
