"""Absolute astrometry: do the aligned products sit where Gaia DR3 says the stars are?

Relative alignment (TweakReg) ties the images to one reference; where that reference
sits on the sky is what its WCSNAME claims (``-FIT_IMG_GAIAeDR3``: a Gaia fit; ``IDC_*``,
``-GSC240``, ``-HSC30``: a-priori). This check measures it, as drizzlepac's pipeline does
for its own solutions (``align.determine_fit_quality``, ``_astrometry_resids.json``):

1. Gaia sources with bad astrometry are dropped: no proper motion (two-parameter
   solutions: they cannot be propagated) or RUWE above ``max_ruwe`` (1.4, the Gaia
   documentation's mark of a non-single or problematic source, Lindegren et al. 2018,
   GAIA-C3-TN-LU-LL-124); the counts are reported;
2. the rest are propagated from Gaia's reference epoch to each exposure's EXPSTART with
   ``SkyCoord.apply_space_motion`` (proper motion, with the parallax as distance);
3. the stars are measured on each aligned product: each single-drizzled image
   (``*_single_sci.fits``: one exposure, the aligned WCS), else the match files' fitted
   RA/Dec (TweakReg's "RA (fit)"/"Dec (fit)"), else the drizzled image (at the inputs'
   mean epoch). On images, a star is the brightest pixel within ``search_radius_arcsec``
   of its Gaia position, then photutils' quadratic centroid; a first pass gives the
   common offset, a second matches within ``match_radius_arcsec`` of it;
4. per subject: the median offset (dRA*cos(Dec), dDec) in mas with its error
   (1.2533 sigma / sqrt(N)), the rms scatter (sigma-clipped), and ``|median offset|``
   judged in mas against the levels of the frame the product claims: a Gaia frame (the
   base levels) or an a-priori/unknown frame (``by_reference.apriori``: looser, and it
   warns, naming the frame). Fewer than ``min_matches`` stars: skip with the count.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Iterator, Sequence

import astropy.units as u
import numpy as np
from astropy.coordinates import Distance, SkyCoord
from astropy.stats import sigma_clip
from astropy.time import Time
from astropy.utils.exceptions import AstropyUserWarning, AstropyWarning
from photutils.centroids import centroid_quadratic

from .apriori_wcs import wcs_kind
from .display import Column, Figure
from .plots.gaia import offset_vectors
from .products import (Context, DrizzledImage, FitMatches, GaiaCatalog, InputExposure,
                       SingleDrizzled, TweakRegLog, file_name)
from .registry import check
from .result import Measurement, Status
from .stars import refine, sampled_background
from .wcs_consistency import astrometric_frame

__all__ = ["absolute_astrometry", "usable_gaia", "propagate", "claimed_frame",
           "measure_image", "offsets_summary"]

# A parallax below max(0.1 mas, 0.002 mas per mas/yr of proper motion), or none, is
# raised to it: ERFA's pmsafe (apply_space_motion) overrides, with a warning, a distance
# whose transverse speed would exceed ~1% of c (its Note 6: parallax >= 326 x the yearly
# motion in radians). With no radial velocity the distance only changes second-order
# (perspective) terms, far below a micro-arcsecond over decades.
_MIN_PARALLAX_MAS, _PARALLAX_PER_PM = 0.1, 0.002
_VECTORS = 200  # stars kept in the details for the figure


def usable_gaia(table, max_ruwe: float) -> tuple[np.ndarray, dict[str, int]]:
    """Rows of a Gaia table with good astrometry, and how many were dropped and why."""
    pm_ok = np.isfinite(_col(table, "pmra")) & np.isfinite(_col(table, "pmdec"))
    ruwe = _col(table, "ruwe")
    ruwe_ok = np.isfinite(ruwe) & (ruwe <= max_ruwe)
    pos_ok = np.isfinite(_col(table, "ra")) & np.isfinite(_col(table, "dec"))
    keep = pm_ok & ruwe_ok & pos_ok
    return keep, {"gaia_sources": int(len(table)), "dropped_no_pm": int((~pm_ok).sum()),
                  "dropped_ruwe": int((pm_ok & ~ruwe_ok).sum()), "kept": int(keep.sum())}


def _col(table, name: str) -> np.ndarray:
    if name not in table.colnames:
        return np.full(len(table), np.nan)
    return np.asarray(np.ma.asarray(table[name]).astype(float).filled(np.nan))


def propagate(table, keep: np.ndarray, mjd: float, enabled: bool = True) -> SkyCoord:
    """Gaia positions of the kept rows at MJD ``mjd`` (``enabled=False``: at Gaia's
    reference epoch, unpropagated)."""
    ra, dec = _col(table, "ra")[keep], _col(table, "dec")[keep]
    if not enabled or ra.size == 0:
        return SkyCoord(ra * u.deg, dec * u.deg)
    epoch = _col(table, "ref_epoch")[keep]
    ref = float(np.nanmedian(epoch)) if np.isfinite(epoch).any() else 2016.0
    pmra, pmdec = _col(table, "pmra")[keep], _col(table, "pmdec")[keep]
    floor = np.maximum(_MIN_PARALLAX_MAS, _PARALLAX_PER_PM * np.hypot(pmra, pmdec))
    plx = np.nan_to_num(_col(table, "parallax")[keep], nan=0.0)
    coords = SkyCoord(ra=ra * u.deg, dec=dec * u.deg,
                      pm_ra_cosdec=pmra * u.mas / u.yr, pm_dec=pmdec * u.mas / u.yr,
                      distance=Distance(parallax=np.maximum(plx, floor) * u.mas),
                      obstime=Time(ref, format="jyear"))
    moved = coords.apply_space_motion(new_obstime=Time(mjd, format="mjd"))
    return SkyCoord(moved.ra, moved.dec)


def claimed_frame(image: str, inputs: Sequence[InputExposure],
                  log: TweakRegLog | None) -> tuple[str, str, str]:
    """``(kind, frame, how)`` the aligned ``image`` claims: kind ``"gaia"`` or
    ``"apriori"`` (a-priori, another catalog, or not told).

    An image TweakReg fitted to a reference image is on that image's frame; one fitted to
    a reference catalog on that catalog's (Gaia when its name says so); otherwise the
    frame its own WCSNAME names (:func:`wcs_consistency.astrometric_frame`).
    """
    by_name = {}
    for e in inputs:
        by_name[e.name.lower()] = by_name[e.rootname.lower()] = e
    key = file_name(image).lower()
    exp = by_name.get(key) or by_name.get(key.split("_")[0])
    fit = None
    if log is not None and exp is not None:
        fits = [f for f in log.fits if f.reference_kind and file_name(f.image).lower()
                in (exp.name.lower(), exp.rootname.lower())]
        fit = fits[-1] if fits else None
    if fit is not None and fit.reference_kind == "catalog":
        name = file_name(fit.reference)
        kind = "gaia" if "gaia" in name.lower() else "apriori"
        return kind, f"catalog '{name}'", (f"{file_name(log.path)} line {fit.line}: "
                                           f"fitted to the reference catalog '{name}'")
    if fit is not None:
        ref = by_name.get(file_name(fit.reference).lower())
        if ref is None:
            return "apriori", f"reference image '{file_name(fit.reference)}'", (
                f"{file_name(log.path)} line {fit.line}: fitted to a reference image "
                "that is not among the inputs: its frame is not known")
        exp, how = ref, (f"{file_name(log.path)} line {fit.line}: fitted to the reference "
                         f"image {ref.name}")
    elif exp is None:
        return "apriori", "unknown", "no input exposure header names its frame"
    else:
        how = f"{exp.name}"
    frame = astrometric_frame(exp.wcsname)
    if frame is not None and frame.startswith("GAIA"):
        return "gaia", frame, f"{how}, WCSNAME {exp.wcsname!r}"
    kind, text = wcs_kind(exp)
    if frame is None and "GAIA" in exp.wcsname.upper():  # a user's name, e.g. 'Gaia'
        return "gaia", exp.wcsname, f"{how}, WCSNAME {exp.wcsname!r} (a user's name)"
    return "apriori", frame or exp.wcsname or "none", (f"{how}, WCSNAME {exp.wcsname!r}: "
                                                       f"{text}")


def _spherical(measured: SkyCoord, gaia: SkyCoord) -> tuple[np.ndarray, np.ndarray]:
    """(dRA*cos(Dec), dDec) of measured minus Gaia, in mas."""
    dra, ddec = gaia.spherical_offsets_to(measured)
    return dra.to_value(u.mas), ddec.to_value(u.mas)


def measure_image(sci: np.ndarray, wcs: Any, gaia: SkyCoord, *, scale_arcsec: float,
                  search_radius_arcsec: float, match_radius_arcsec: float,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (mas) of Gaia stars measured on an image, and which Gaia rows they are.

    Returns ``(dra, ddec, index)``: index into ``gaia`` of each measured star.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        x, y = wcs.all_world2pix(gaia.ra.deg, gaia.dec.deg, 0)
    ny, nx = sci.shape
    edge = search_radius_arcsec / scale_arcsec + 4
    inside = np.flatnonzero(np.isfinite(x) & np.isfinite(y) & (x > edge) & (y > edge)
                            & (x < nx - 1 - edge) & (y < ny - 1 - edge))
    empty = np.zeros(0), np.zeros(0), np.zeros(0, int)
    if inside.size == 0:
        return empty
    sky, sigma = sampled_background(sci, nonzero=True)
    if not (math.isfinite(sky) and math.isfinite(sigma) and sigma > 0):
        return empty
    # first pass: the brightest pixel near each star, the common offset its median
    px, py = refine(sci, None, x[inside], y[inside], search_radius_arcsec / scale_arcsec,
                    nonzero=True)
    bright = np.asarray(sci[py, px], float) > sky + 10 * sigma
    if bright.sum() < 3:
        return empty
    ox = float(np.median(px[bright] - x[inside][bright]))
    oy = float(np.median(py[bright] - y[inside][bright]))
    # second pass: around the offset position, a quadratic fit to the 3x3 pixels around
    # the peak (photutils' centroid_quadratic)
    r = max(match_radius_arcsec / scale_arcsec, 1.5)
    px, py = refine(sci, None, x[inside] + ox, y[inside] + oy, r, nonzero=True)
    keep = np.asarray(sci[py, px], float) > sky + 10 * sigma
    cx, cy = np.full(px.size, np.nan), np.full(px.size, np.nan)
    for k in np.flatnonzero(keep):
        cut = np.asarray(sci[py[k] - 1:py[k] + 2, px[k] - 1:px[k] + 2], float) - sky
        if cut.shape != (3, 3) or not np.isfinite(cut).all() or cut[1, 1] < cut.max():
            continue
        with warnings.catch_warnings():
            # a flat or saturated top: photutils warns and returns an edge or NaN, which
            # the test below rejects
            warnings.simplefilter("ignore", AstropyUserWarning)
            qx, qy = centroid_quadratic(cut, fit_boxsize=3)
        if np.isfinite(qx) and np.isfinite(qy) and abs(qx - 1) <= 1 and abs(qy - 1) <= 1:
            cx[k], cy[k] = px[k] - 1 + qx, py[k] - 1 + qy
    ok = np.isfinite(cx)
    near = np.hypot(cx - x[inside] - ox, cy - y[inside] - oy) * scale_arcsec \
        <= match_radius_arcsec
    ok &= np.where(np.isfinite(near), near, False)
    if not ok.any():
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        ra, dec = wcs.all_pix2world(cx[ok], cy[ok], 0)
    idx = inside[ok]
    dra, ddec = _spherical(SkyCoord(ra * u.deg, dec * u.deg), gaia[idx])
    return dra, ddec, idx


def offsets_summary(dra: np.ndarray, ddec: np.ndarray) -> dict[str, Any]:
    """Median offset with its error, and rms scatter (3-sigma clipped), in mas."""
    ca = sigma_clip(dra, sigma=3.0, maxiters=5, cenfunc="median", stdfunc="mad_std")
    cd = sigma_clip(ddec, sigma=3.0, maxiters=5, cenfunc="median", stdfunc="mad_std")
    good = ~(np.ma.getmaskarray(ca) | np.ma.getmaskarray(cd))
    a, d = dra[good], ddec[good]
    n = int(good.sum())
    med_a, med_d = float(np.median(a)), float(np.median(d))
    sa, sd = float(np.std(a)), float(np.std(d))
    return {"n_used": n, "n_clipped": int(good.size - n), "dra_mas": med_a,
            "ddec_mas": med_d, "err_dra_mas": 1.2533 * sa / math.sqrt(n),
            "err_ddec_mas": 1.2533 * sd / math.sqrt(n),
            "rms_mas": float(math.sqrt(np.mean((a - med_a) ** 2 + (d - med_d) ** 2))),
            "offset_mas": float(math.hypot(med_a, med_d)), "good": good}


def _epochs(inputs: Sequence[InputExposure]) -> dict[str, float]:
    out = {}
    for e in inputs:
        if math.isfinite(e.expstart):
            out[e.name.lower()] = out[e.rootname.lower()] = e.expstart
    return out


def _subjects(single, fit_matches, drc, inputs):
    """``(subject, image name for the frame, epoch MJD, kind, product)`` to measure."""
    epochs = _epochs(inputs)
    if single:
        for s in single:
            yield s.name, s.rootname, epochs.get(s.rootname.lower(), s.expstart), "image", s
    elif fit_matches:
        for fm in fit_matches:
            image = file_name(fm.image)
            mjd = epochs.get(image.lower(), epochs.get(image.lower().split("_")[0], math.nan))
            yield file_name(fm.path), image, mjd, "matches", fm
    elif drc is not None:
        mjds = sorted(set(epochs.values()))
        mjd = float(np.mean(mjds)) if mjds else 0.5 * (
            float(drc.header.get("EXPSTART", math.nan)) + float(drc.header.get("EXPEND", math.nan)))
        ref = inputs[0].name if inputs else drc.name
        yield drc.name, ref, mjd, "image", drc


@check("absolute_astrometry", needs=("gaia",),
       optional=("single", "fit_matches", "drc", "inputs", "tweakreg_log", "context"),
       unit="mas",
       summary=(Column("Gaia offset (max)", "max"),),
       figures=lambda results, products: _figures(results),
       description="The aligned products are not where Gaia DR3 puts the stars: the "
                   "astrometric frame their WCS claims does not hold.")
def absolute_astrometry(gaia: GaiaCatalog, single: tuple[SingleDrizzled, ...] = (),
                        fit_matches: tuple[FitMatches, ...] = (),
                        drc: DrizzledImage | None = None,
                        inputs: tuple[InputExposure, ...] = (),
                        tweakreg_log: TweakRegLog | None = None,
                        context: Context | None = None, *,
                        propagate_motion: bool = True, max_ruwe: float = 1.4,
                        min_matches: int = 10, search_radius_arcsec: float = 1.0,
                        match_radius_arcsec: float = 0.1) -> Iterator[Measurement]:
    """Measure the median offset (mas) of each aligned product from Gaia (see the module
    docstring). ``propagate_motion=False`` compares with Gaia's reference-epoch
    positions (for tests: it must fail where proper motions matter)."""
    if gaia.table is None:
        yield Measurement("gaia", math.nan, gaia.reason, {"origin": gaia.origin},
                          status=Status.ERROR if gaia.failed else Status.SKIP)
        return
    keep, counts = usable_gaia(gaia.table, max_ruwe)
    dropped = (f"{counts['kept']} of {counts['gaia_sources']} {gaia.release} sources used "
               f"({counts['dropped_no_pm']} without proper motion, "
               f"{counts['dropped_ruwe']} with RUWE > {max_ruwe:g} dropped)")
    subjects = list(_subjects(single, fit_matches, drc, inputs))
    if not subjects:
        yield Measurement("gaia", math.nan, "no aligned product carries positions (no "
                          "single-drizzled image, match file or drizzled image)",
                          status=Status.SKIP)
        return
    for subject, image, mjd, kind, product in subjects:
        details: dict[str, Any] = dict(counts, epoch_mjd=mjd, propagated=propagate_motion,
                                       catalog=gaia.origin)
        frame_kind, frame, how = claimed_frame(image, inputs, tweakreg_log)
        details.update(frame=frame, frame_kind=frame_kind, frame_from=how)
        # the measurement names a detector so that the framework judges it with the levels
        # of its claimed frame (by_reference); the levels are the same for every detector
        det = "unknown/unknown"
        if inputs:
            det = f"{inputs[0].instrument}/{inputs[0].detector}"
        elif context is not None and context.instrument and context.detector:
            det = f"{context.instrument}/{context.detector}"
        if not math.isfinite(mjd) and propagate_motion:
            yield Measurement(subject, math.nan, f"{subject}: no EXPSTART known for "
                              f"{image}: Gaia positions cannot be propagated to its epoch.",
                              details, status=Status.SKIP)
            continue
        coords = propagate(gaia.table, keep, mjd, propagate_motion)
        if kind == "matches":
            dra, ddec, idx = _match_table(product, coords, match_radius_arcsec,
                                          search_radius_arcsec)
        else:
            scale = float(np.sqrt(abs(np.linalg.det(product.wcs.pixel_scale_matrix)))) * 3600
            dra, ddec, idx = measure_image(product.sci, product.wcs, coords,
                                           scale_arcsec=scale,
                                           search_radius_arcsec=search_radius_arcsec,
                                           match_radius_arcsec=match_radius_arcsec)
        if dra.size < min_matches:
            yield Measurement(subject, math.nan, f"{subject}: {dra.size} Gaia stars "
                              f"matched, fewer than {min_matches}: not judged. {dropped}.",
                              dict(details, n_matched=int(dra.size)), status=Status.SKIP)
            continue
        s = offsets_summary(dra, ddec)
        good = s.pop("good")
        details.update(s, n_matched=int(dra.size))
        c = coords[idx[good]]
        centre = c.ra.deg.mean(), c.dec.deg.mean()
        pick = np.linspace(0, good.sum() - 1, min(_VECTORS, good.sum())).astype(int)
        details["vectors"] = [
            [round(float(v), 2) for v in row] for row in zip(
                ((c.ra.deg - centre[0]) * np.cos(np.deg2rad(centre[1])) * 3600)[pick],
                ((c.dec.deg - centre[1]) * 3600)[pick], dra[good][pick], ddec[good][pick])]
        epoch = (f"propagated to EXPSTART {mjd:.3f}" if propagate_motion
                 else "NOT propagated (Gaia's reference-epoch positions)")
        text = (f"{subject}: median offset from Gaia (dRA*cos(Dec), dDec) = "
                f"({s['dra_mas']:+.1f}, {s['ddec_mas']:+.1f}) +/- ({s['err_dra_mas']:.1f}, "
                f"{s['err_ddec_mas']:.1f}) mas, |offset| {s['offset_mas']:.1f} mas, rms "
                f"{s['rms_mas']:.1f} mas from {s['n_used']} stars ({s['n_clipped']} "
                f"clipped; {dropped}; {epoch}). Claimed frame: {frame} ({how})")
        if frame_kind == "gaia":
            text += ": judged with the Gaia-frame levels."
            yield Measurement(subject, s["offset_mas"], text, details, detector=det)
        else:
            text += (f": NOT a Gaia frame ({frame}); judged with the a-priori levels, and "
                     "it warns.")
            yield Measurement(subject, s["offset_mas"], text, details, detector=det,
                              reference="apriori")


def _match_table(fm: FitMatches, gaia: SkyCoord, match_radius: float, search_radius: float,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (mas) of a match file's fitted RA/Dec from the nearest Gaia star: a first
    match within ``search_radius`` gives the common offset, a second within
    ``match_radius`` of it."""
    ra, dec = fm.floats("ra"), fm.floats("dec")
    empty = np.zeros(0), np.zeros(0), np.zeros(0, int)
    if ra is None or dec is None or len(gaia) == 0:
        return empty
    ok = np.isfinite(ra) & np.isfinite(dec)
    if not ok.any():
        return empty
    src = SkyCoord(ra[ok] * u.deg, dec[ok] * u.deg)
    idx, sep, _ = src.match_to_catalog_sky(gaia)
    first = sep.arcsec <= search_radius
    if first.sum() < 3:
        return empty
    dra, ddec = _spherical(src[first], gaia[idx[first]])
    ma, md = np.median(dra), np.median(ddec)
    close = np.hypot(dra - ma, ddec - md) <= match_radius * 1000.0
    return dra[close], ddec[close], idx[first][close]


def _figures(results: Sequence[Any]) -> Iterator[Figure]:
    for r in results:
        vectors = r.details.get("vectors")
        if not vectors:
            continue
        title = f"{r.subject}: offsets from Gaia DR3 (mas)"
        yield Figure(title=title, key=("gaia_vectors", r.subject, r.observed),
                     draw=lambda v=tuple(map(tuple, vectors)), t=title,
                     d=dict(r.details): offset_vectors(v, t, d))
