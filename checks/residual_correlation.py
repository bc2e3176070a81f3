"""Systematic structure left in TweakReg fit residuals.

A good TweakReg fit leaves residuals ``(dx, dy)`` that look like measurement noise: no
trend with position, no offset between chips. A systematic field in the residuals means
the fit model could not describe the real mapping (wrong ``fitgeometry``, a bad distortion
solution, a chip-to-chip offset), and the drizzled combination is misaligned by about
that amount somewhere in the field even when the fit RMS looks fine.

The statistic (per image)
-------------------------
The residuals of both axes are stacked into one least-squares problem and two nested
models are fitted to them:

* the *null* model: the terms the TweakReg fit geometry absorbs itself (``shift``:
  offsets; ``rscale``: + rotation and scale; ``general``: + skew and anisotropic scale).
  A least-squares fit leaves residuals orthogonal to these terms by construction, so
  testing them would be pointless;
* the *full* model: the null terms plus what no fit of that geometry can absorb: the
  linear terms missing from the geometry (for ``rscale`` the skew and the anisotropic
  scale), all quadratic terms of each axis, and one offset per chip (beyond the first)
  of each axis.

The systematic field is the difference of the two fits evaluated at the sources. Its
size is reported as the RMS over the sources of the field's vector length (pixels),
shrunk by ``sqrt(1 - 1/F)`` so that pure noise gives an amplitude near zero instead of
the ``sigma * sqrt(p / N)`` that any fit of ``p`` extra terms picks up. The
significance is the F-test of the full against the null model. The gate is the
amplitude; a structure that is not significant at ``alpha`` passes whatever its
amplitude, so that a small noisy catalogue cannot fail on noise (real fits show small
but very significant structure, so a p-value alone would fail every good dataset).

The fit is ordinary least squares on the stacked axes, like TweakReg's (see
:class:`_Problem` for why the axes are not weighted). Outliers are removed by iterative
sigma clipping of the residuals *about the full model* (so that clipping cannot remove
the structure being measured), per axis, with a MAD scale in the first round and the
RMS of the kept residuals afterwards.

Units and frame: positions are ``x_ref, y_ref`` and residuals ``dx, dy`` of the match
file, i.e. pixels of TweakReg's fit frame (the output/reference tangent plane).
``dx = fit(x_in) - x_ref``; :func:`fit_rscale` reproduces the columns of real files.
"""
from __future__ import annotations

import math
from typing import Iterator, Mapping

import numpy as np
from astropy.stats import mad_std
from scipy.special import fdtrc, fdtri  # the F distribution

from . import plots
from .display import Column, Figure
from .fit_rms import ImageScales
from .products import Context, FitMatches, InputExposure, TweakRegLog, file_name
from .registry import check
from .result import Measurement, Status

__all__ = ["residual_correlation", "fit_rscale", "infer_fitgeometry", "systematic_field",
           "SystematicField"]


_GEOMETRIES = ("shift", "rscale", "general")


def infer_fitgeometry(header: Mapping[str, float]) -> str | None:
    """Guess the TweakReg ``fitgeometry`` from a ``*_catalog_fit.match`` header.

    Parameters
    ----------
    header : mapping
        ``xscale, yscale, xrot, yrot, skew`` (and ``rot``) as written by TweakReg in the
        ``X and Y scale``, ``X and Y rotation`` and ``<rotation> and skew`` lines.

    Returns
    -------
    str or None
        ``"general"`` when the two scales or rotations differ or the skew is non-zero,
        ``"shift"`` when the scale is exactly 1 and the rotation exactly 0 (what a
        shift-only fit writes), ``"rscale"`` otherwise; ``None`` when the header lacks
        these numbers.
    """
    try:
        xs, ys = float(header["xscale"]), float(header["yscale"])
        xr, yr = float(header["xrot"]), float(header["yrot"])
        skew = float(header.get("skew", 0.0))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (xs, ys, xr, yr, skew)):
        return None
    if abs(xs - ys) > 1e-9 * abs(xs) or abs(xr - yr) > 1e-9 or abs(skew) > 0.0:
        return "general"
    if xs == 1.0 and xr % 360.0 == 0.0:
        return "shift"
    return "rscale"


def fit_rscale(x_in: np.ndarray, y_in: np.ndarray, x_ref: np.ndarray,
               y_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Least-squares shift + rotation + single-scale fit, as TweakReg's ``rscale``.

    ``tweakwcs.linearfit.fit_rscale`` (the algorithm of drizzlepac's ``linearfit``):
    ``x_ref = a x - b y + tx``, ``y_ref = b x + a y + ty`` (a matched set whose
    geometry is mirrored gets a mirrored fit, as in TweakReg). The residuals are in
    TweakReg's convention (``fit - reference``) and reproduce the ``dx dy`` columns of
    real ``*_catalog_fit.match`` files to 1e-4 px.

    Parameters
    ----------
    x_in, y_in : ndarray
        Input positions in the fit frame.
    x_ref, y_ref : ndarray
        Matched reference positions in the same frame.

    Returns
    -------
    dx, dy : ndarray
        Residuals ``fit(x_in) - x_ref`` and ``fit(y_in) - y_ref``.
    params : dict
        ``xsh, ysh, scale, rot`` (counter-clockwise rotation in degrees, in [0, 360)).

    Raises
    ------
    tweakwcs.linearfit.NotEnoughPointsError
        Fewer than two positions.
    tweakwcs.linearfit.SingularMatrixError
        All input positions are the same.
    """
    # tweakwcs for this helper only: the check itself never calls it
    from tweakwcs.linearfit import fit_rscale as _fit

    x_in, y_in, x_ref, y_ref = (np.asarray(a, dtype=float) for a in (x_in, y_in, x_ref, y_ref))
    fit = _fit(np.column_stack([x_ref, y_ref]), np.column_stack([x_in, y_in]))
    resid = fit["resids"]  # reference - fit
    params = {"xsh": float(fit["shift"][0]), "ysh": float(fit["shift"][1]),
              "scale": float(fit["<scale>"]), "rot": float(-fit["proper_rot"] % 360.0)}
    return -resid[:, 0], -resid[:, 1], params


class SystematicField:
    """Result of :func:`systematic_field` (plain attributes, no behaviour).

    Attributes
    ----------
    n_used, n_clipped : int
        Sources used in the final fit and sources removed by clipping.
    field_x, field_y : ndarray
        Systematic field at the used sources (pixels), before shrinkage.
    f_stat, p_value : float
        F-test of the full against the null model (``f_stat``: extra sum of squares
        over its expectation under noise).
    shrink : float
        ``sqrt(max(0, 1 - 1/F))``: multiply the field by it for an unbiased amplitude.
    amplitude, amplitude_x, amplitude_y, peak : float
        Shrunk RMS over the used sources of the vector length / x / y component of
        the field, and the shrunk maximum vector length (pixels).
    min_detectable : float
        RMS amplitude (pixels) at which a structure would on average reach
        significance at ``alpha`` (the catalogue's sensitivity).
    n_params, dof : int
        Extra parameters of the full model and residual degrees of freedom.
    sigma_x, sigma_y : float
        Residual scatter per axis about the full model (pixels; clipping scale).
    group_share : dict
        Share of the extra explained sum of squares that each group of terms
        (``linear``, ``quadratic``, ``chip``) explains on its own; the groups overlap
        (a chip step also looks linear), so the shares need not add up to 1.
    keep : ndarray of bool
        Which input rows were used.
    """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def _columns(u: np.ndarray, v: np.ndarray, chip: np.ndarray,
             geometry: str) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], int]:
    """Model columns as ``(group, x-part, y-part)``; returns them and the null count."""
    n = u.size
    one, zero = np.ones(n), np.zeros(n)
    shift = [("null", one, zero), ("null", zero, one)]
    rs = [(u, v), (-v, u)]          # scale, rotation
    sk = [(u, -v), (v, u)]          # anisotropic scale, skew
    if geometry == "shift":
        null = shift
        extra_lin = rs + sk
    elif geometry == "rscale":
        null = shift + [("null", *c) for c in rs]
        extra_lin = sk
    else:
        null = shift + [("null", *c) for c in rs + sk]
        extra_lin = []
    cols = list(null)
    cols += [("linear", *c) for c in extra_lin]
    for q in (u * u, u * v, v * v):
        cols += [("quadratic", q, zero), ("quadratic", zero, q)]
    for c in np.unique(chip)[1:]:
        ind = (chip == c).astype(float)
        cols += [("chip", ind, zero), ("chip", zero, ind)]
    return cols, len(null)


def _basis(design: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``design``.

    Built from the eigen-decomposition of the small Gram matrix (fast for many rows);
    directions with eigenvalues below 1e-12 of the largest (singular values below 1e-6)
    are dropped, so collinear columns (e.g. quadratic terms along a narrow overlap
    strip) reduce the rank instead of producing noise.
    """
    if design.shape[1] == 0:
        return design
    norm = np.sqrt(np.sum(design * design, axis=0))
    norm[norm == 0] = 1.0
    d = design / norm
    w, v = np.linalg.eigh(d.T @ d)
    good = w > max(float(w[-1]), 0.0) * 1e-12
    if not good.any():
        return design[:, :0]
    b = d @ (v[:, good] / np.sqrt(w[good]))
    # One re-orthogonalisation against round-off (Cholesky of the small Gram matrix).
    chol = np.linalg.cholesky(b.T @ b)
    return np.linalg.solve(chol, b.T).T


def _rms(e: np.ndarray) -> float:
    """Root mean square (about zero: residuals of a fit with offsets)."""
    return float(np.sqrt(np.mean(e * e)))


def _robust_sigma(e: np.ndarray) -> float:
    """MAD-based standard deviation (falls back to the plain one when the MAD is 0)."""
    s = float(mad_std(e))
    return s if s > 0 else max(float(np.std(e)), 1e-12)


class _Problem:
    """One clipping round: positions scaled to [-1, 1], model columns per axis.

    The fit is ordinary (unweighted) least squares on the stacked ``dx, dy``, as
    TweakReg's own fit. Weighting the axes by their estimated scatter was tried and
    dropped: in small catalogues the estimated weights are noisy enough (a 30-source
    axis can show a MAD of 0.019 px for 0.05 px noise) to make pure noise significant
    at p < 1e-5 a hundred times too often. Unequal noise on the two axes leaves the
    F-test nearly exact because every group of terms acts on both axes alike.
    """

    def __init__(self, x, y, dx, dy, chip, geometry, robust):
        self.n = n = x.size
        x0, y0 = np.median(x), np.median(y)
        scale = max(float(np.max(np.abs(x - x0))), float(np.max(np.abs(y - y0))), 1e-12)
        cols, self.n_null = _columns((x - x0) / scale, (y - y0) / scale, chip, geometry)
        self.groups = [c[0] for c in cols]
        self.design = np.vstack([np.column_stack([c[1] for c in cols]),
                                 np.column_stack([c[2] for c in cols])])
        self.obs = np.concatenate([dx, dy])
        self.b_full = _basis(self.design)
        self.dof = 2 * n - self.b_full.shape[1]
        self.ok = self.dof >= 1
        if not self.ok:
            return
        self.fit_full = self.b_full @ (self.b_full.T @ self.obs)
        e = self.obs - self.fit_full
        self.ex, self.ey = e[:n], e[n:]
        # Per-axis scatter about the full model, for clipping: robust (MAD) in the first
        # round, then the RMS of the kept residuals (2.7 times more efficient, so that
        # clipping at a fixed level rarely removes real noise). A k-parameter fit to 2n
        # values leaves residuals that scatter less than the noise by sqrt(dof / 2n).
        spread = _robust_sigma if robust else _rms
        inflate = math.sqrt(2 * n / self.dof)
        self.sx = max(inflate * spread(self.ex), 1e-12)
        self.sy = max(inflate * spread(self.ey), 1e-12)

    def project(self, columns: list[int]) -> np.ndarray:
        b = _basis(self.design[:, columns])
        return b @ (b.T @ self.obs)

    def statistics(self) -> dict | None:
        """Systematic field, F-test and group shares; ``None`` if under-determined.

        The F-test allows for unequal noise on the two axes (Satterthwaite): with
        per-axis variances ``sx2, sy2`` the extra sum of squares ``Q`` is a weighted sum
        of chi-squares with weights the eigenvalues of ``M = sx2 Ex'Ex + sy2 Ey'Ey``
        (``E``: orthonormal basis of the extra terms, split into its x and y rows), so
        ``Q / tr(M)`` is compared with ``F(tr(M)^2 / tr(M^2), nu_den)``. With equal
        noise this is the ordinary F-test. (Measured: without it, x noise 2.4 times the
        y noise made pure noise reach p < 1e-4 ten times too often.)
        """
        n = self.n
        b_null = _basis(self.design[:, :self.n_null])
        extra_basis = _basis(self.b_full - b_null @ (b_null.T @ self.b_full))
        n_params = extra_basis.shape[1]
        if n_params < 1:
            return None
        fit_null = b_null @ (b_null.T @ self.obs)
        extra_fit = self.fit_full - fit_null
        extra = float(np.sum(extra_fit ** 2))
        # Unbiased per-axis noise variances from the residuals about the full model.
        hat = np.sum(self.b_full ** 2, axis=1)
        d_x, d_y = float(np.sum(1 - hat[:n])), float(np.sum(1 - hat[n:]))
        if min(d_x, d_y) <= 0:
            return None
        vx, vy = float(np.sum(self.ex ** 2)) / d_x, float(np.sum(self.ey ** 2)) / d_y
        ex_, ey_ = extra_basis[:n], extra_basis[n:]
        m = vx * (ex_.T @ ex_) + vy * (ey_.T @ ey_)
        tr_m, tr_m2 = float(np.trace(m)), float(np.sum(m * m))
        c_x, c_y = float(np.sum(ex_ ** 2)), float(np.sum(ey_ ** 2))
        if tr_m <= 0 or tr_m2 <= 0:
            f_stat, nu_num, nu_den = (0.0 if extra == 0 else math.inf), float(n_params), 1.0
        else:
            f_stat = extra / tr_m
            nu_num = tr_m ** 2 / tr_m2
            nu_den = tr_m ** 2 / ((c_x * vx) ** 2 / d_x + (c_y * vy) ** 2 / d_y)
        p_value = float(fdtrc(nu_num, nu_den, f_stat))
        rss_null = float(np.sum((self.obs - fit_null) ** 2))
        share = {}
        for group in ("linear", "quadratic", "chip"):
            idx = [i for i, g in enumerate(self.groups) if g in ("null", group)]
            if len(idx) == self.n_null:
                continue
            rss_g = float(np.sum((self.obs - self.project(idx)) ** 2))
            share[group] = (rss_null - rss_g) / extra if extra > 0 else 0.0
        return {"field_x": extra_fit[:n], "field_y": extra_fit[n:],
                "f_stat": f_stat, "p_value": p_value, "n_params": n_params,
                "nu_num": nu_num, "nu_den": nu_den, "noise_ss": tr_m,
                "dof": self.dof, "group_share": share}


def systematic_field(x: np.ndarray, y: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                     chip: np.ndarray | None = None, *, fitgeometry: str = "general",
                     clip_sigma: float = 3.5, max_iter: int = 10,
                     alpha: float = 1e-5) -> SystematicField:
    """Fit the structure a ``fitgeometry`` fit cannot absorb to residuals ``dx, dy``.

    Parameters
    ----------
    x, y : ndarray
        Source positions in the fit frame (pixels).
    dx, dy : ndarray
        Fit residuals at those positions (pixels).
    chip : ndarray, optional
        Chip (EXTVER) of each source; one offset per extra chip is tested.
    fitgeometry : {"shift", "rscale", "general"}
        Geometry of the fit that produced the residuals.
    clip_sigma : float
        Sources whose residual about the full model exceeds ``clip_sigma`` robust
        sigmas on either axis are removed, iteratively.
    max_iter : int
        Maximum clipping iterations.
    alpha : float
        Significance level used only for ``min_detectable``.

    Returns
    -------
    SystematicField
        With ``f_stat`` NaN when there are too few sources for the model.
    """
    if fitgeometry not in _GEOMETRIES:
        raise ValueError(f"fitgeometry must be one of {_GEOMETRIES}, got {fitgeometry!r}")
    x, y, dx, dy = (np.asarray(a, dtype=float) for a in (x, y, dx, dy))
    chip = np.zeros(x.size, dtype=int) if chip is None else np.asarray(chip)
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(dx) & np.isfinite(dy)
    keep = finite.copy()
    prob = None
    for it in range(max_iter + 1):
        if keep.sum() < 3:
            prob = None
            break
        prob = _Problem(x[keep], y[keep], dx[keep], dy[keep], chip[keep], fitgeometry,
                        robust=(it == 0))
        if not prob.ok:
            break
        ok = (np.abs(prob.ex) <= clip_sigma * prob.sx) & (np.abs(prob.ey) <= clip_sigma * prob.sy)
        if ok.all():
            if it > 0:
                break
            continue  # re-measure the scatter with the efficient estimator
        idx = np.flatnonzero(keep)
        keep = keep.copy()
        keep[idx[~ok]] = False
    res = prob.statistics() if prob is not None and prob.ok else None
    n_used, n_clipped = int(keep.sum()), int(finite.sum() - keep.sum())
    if res is None:
        return SystematicField(n_used=n_used, n_clipped=n_clipped, keep=keep,
                               f_stat=float("nan"), p_value=float("nan"))
    f_stat = res["f_stat"]
    shrink = math.sqrt(max(0.0, 1.0 - 1.0 / f_stat)) if f_stat > 0 else 0.0
    fx, fy = res["field_x"], res["field_y"]
    length2 = fx * fx + fy * fy
    # RMS signal that lifts the expected F statistic to its critical value.
    f_crit = float(fdtri(res["nu_num"], res["nu_den"], 1.0 - alpha))
    min_detectable = math.sqrt(max(f_crit - 1.0, 0.0) * res["noise_ss"] / n_used)
    return SystematicField(
        min_detectable=min_detectable,
        n_used=n_used, n_clipped=n_clipped, keep=keep, field_x=fx, field_y=fy,
        shrink=shrink,
        amplitude=shrink * math.sqrt(float(np.mean(length2))),
        amplitude_x=shrink * math.sqrt(float(np.mean(fx * fx))),
        amplitude_y=shrink * math.sqrt(float(np.mean(fy * fy))),
        peak=shrink * math.sqrt(float(np.max(length2))),
        f_stat=f_stat, p_value=res["p_value"], n_params=res["n_params"], dof=res["dof"],
        sigma_x=prob.sx, sigma_y=prob.sy, group_share=res["group_share"])


_GROUP_NAMES = {"linear": "linear (skew/anisotropic scale)", "quadratic": "quadratic",
                "chip": "chip-to-chip offset"}


def residual_figures(results, products) -> Iterator[Figure]:
    """Each fit's residuals against position and its residual vector field."""
    for fm in products.fit_matches:
        yield Figure(f"residuals {fm.image}", ("residuals", fm.path),
                     lambda fm=fm: plots.residual_plot(fm))
        yield Figure(f"vectors {fm.image}", ("vectors", fm.path),
                     lambda fm=fm: plots.vector_plot(fm))


@check("residual_correlation", needs=("fit_matches",),
       optional=("inputs", "context", "tweakreg_log"), unit="pix",
       figures=residual_figures, summary=(Column("residual structure (max)", "max"),),
       description="TweakReg fit residuals show a systematic pattern over the field or "
                   "between chips that the fit geometry could not absorb: parts of the "
                   "image stay misaligned by about this amount")
def residual_correlation(fit_matches: tuple[FitMatches, ...],
                         inputs: tuple[InputExposure, ...] = (),
                         context: Context | None = None,
                         tweakreg_log: TweakRegLog | None = None, *, alpha: float = 1e-5,
                         clip_sigma: float = 3.5, min_sources: int = 10,
                         fitgeometry: str | None = None) -> Iterator[Measurement]:
    """Amplitude and significance of systematic structure in fit residuals, per image.

    Parameters
    ----------
    fit_matches : tuple of FitMatches
        Parsed ``*_catalog_fit.match`` files, one per aligned image.
    inputs, context, tweakreg_log : optional
        What tells each image's detector (as for ``fit_rms``): its header, its rootname,
        its match file's input pixel scale, the dataset.
    alpha : float
        Significance level of the F-test: a structure with ``p >= alpha`` is reported
        as not significant and cannot fail or warn.
    clip_sigma : float
        Outlier clipping level (robust sigmas per axis, about the full model).
    min_sources : int
        Fewer sources than this after clipping: the image is skipped with a message
        (the ``match_counts`` check judges small catalogues).
    fitgeometry : {"shift", "rscale", "general"}, optional
        Fit geometry of the TweakReg run; by default inferred from each file's header,
        and ``"general"`` (the most permissive null model) when the header says nothing.

    Yields
    ------
    Measurement
        ``value``: shrunk RMS over the sources of the systematic field, in pixels of
        the image's detector (converted from the fit frame's pixels with the frame scale
        measured from the match file), judged with that detector's levels; in fit-frame
        pixels with the generic levels where the detector or the frame scale cannot be
        told (the message says so). ``significant``: ``p < alpha``.
    """
    scales = ImageScales(inputs, context, fit_matches, tweakreg_log)
    for fm in fit_matches:
        table = fm.table
        geometry, source = fitgeometry, "parameter"
        if geometry is None:
            geometry, source = infer_fitgeometry(fm.header), "match-file header"
        if geometry is None:
            geometry, source = "general", "default (header has no scale/skew)"
        chip = np.asarray(table["chip"]) if "chip" in table.colnames else None
        res = systematic_field(table["x_ref"], table["y_ref"], table["dx"], table["dy"],
                               chip, fitgeometry=geometry, clip_sigma=clip_sigma,
                               alpha=alpha)
        base = {"n_sources": res.n_used, "n_clipped": res.n_clipped,
                "fitgeometry": geometry, "fitgeometry_source": source}
        if res.n_used < min_sources or not math.isfinite(res.f_stat):
            yield Measurement(
                subject=fm.image, value=float("nan"), status=Status.SKIP, details=base,
                message=(f"only {res.n_used} usable matched sources (after clipping "
                         f"{res.n_clipped}); at least {min_sources} and more than the "
                         "model's parameters are needed to test residual structure: "
                         "not tested."))
            continue
        significant = bool(res.p_value < alpha)
        dominant = max(res.group_share, key=res.group_share.get)
        details = {
            **base,
            "amplitude_x": round(res.amplitude_x, 5),
            "amplitude_y": round(res.amplitude_y, 5),
            "peak": round(res.peak, 5),
            "p_value": float(f"{res.p_value:.3g}"),
            "f_stat": round(res.f_stat, 3),
            "n_params": res.n_params,
            "min_detectable": round(res.min_detectable, 5),
            "sigma_x": round(res.sigma_x, 5),
            "sigma_y": round(res.sigma_y, 5),
            "dominant_term": _GROUP_NAMES[dominant],
            **{f"share_{k}": round(v, 3) for k, v in res.group_share.items()},
            "alpha": alpha,
        }
        message = (f"Systematic residual field (terms a {geometry} fit cannot absorb) "
                   f"of RMS {res.amplitude:.4f} px (x {res.amplitude_x:.4f}, "
                   f"y {res.amplitude_y:.4f}; mostly {_GROUP_NAMES[dominant]}) over "
                   f"{res.n_used} sources, p = {res.p_value:.2g} (this catalogue detects "
                   f"structure of about {res.min_detectable:.3f} px and more).")
        value, where, det = _in_detector_pixels(res.amplitude, fm, scales, details)
        yield Measurement(subject=fm.image, value=value, message=f"{message} {where}",
                          details=details, significant=significant, detector=det)


def _in_detector_pixels(amplitude: float, fm: FitMatches, scales: ImageScales,
                        details: dict) -> tuple[float, str, str | None]:
    """The amplitude (fit-frame px) in the image's detector pixels, a sentence saying
    how it was converted, and the detector whose levels judge it (None: the generic
    levels, in fit-frame pixels)."""
    t = scales.of(fm.image)
    if t.frame is not None:
        details["frame_scale_arcsec"] = t.frame
        details["amplitude_mas"] = round(amplitude * t.frame * 1e3, 4)
    if t.det is None:
        return amplitude, (f"Detector not known ({t.how}): judged in fit-frame pixels "
                           "with the generic levels, not any imager's."), None
    if t.frame is None or not t.scale:
        return amplitude, (f"{t.det.name} ({t.how}), but the fit frame's scale is not "
                           f"known ({file_name(fm.path)} has no RA/Dec columns): judged in "
                           "fit-frame pixels with the generic levels, not "
                           f"{t.det.name}'s."), None
    ratio = t.frame / t.scale
    value = amplitude * ratio
    details.update(detector=t.det.name, detector_from=t.how, pixel_scale_arcsec=t.scale,
                   amplitude_detector_px=round(value, 5))
    return value, (f"In {t.det.name} pixels ({t.how}): {amplitude:.4f} px of the fit "
                   f"frame ({t.frame:.4f}\"/px) = {amplitude * t.frame * 1e3:.2f} mas = "
                   f"{value:.4f} px at {t.scale:.4f}\"/px."), t.det.name
