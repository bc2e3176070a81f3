"""Find the products of one directory and parse them into one frozen :class:`Products`."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from ..attempts import sort_attempts
from ..frames import fit_frame_scale
from ..products import (Context, FitMatches, InputExposure, ProductPaths, Products, ShiftFile,
                        TweakRegLog, file_name)
from ._common import NotHSTError, ProductReadError, read_lines
from .images import NOMINAL_SCALE, read_drizzled, read_input_exposure, read_single
from ._loglines import sniff_log
from .drizzle_log import read_drizzle_log
from .tweakreg_log import read_tweakreg_log
from .tables import looks_like_shiftfile, read_fit_matches, read_shiftfile, read_sky_catalog

__all__ = ["find_products", "load_products"]

_SNIFF_BYTES = 64 * 1024


def _head_lines(path: Path) -> list[str]:
    """First lines of a text file, for telling what it is (unreadable -> [])."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_SNIFF_BYTES)
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").split("\n")


def _is_shiftfile(path: Path) -> bool:
    if "shift" in path.name.lower():  # named as one: it must parse, or it is an error
        return True
    if path.stat().st_size > 1_000_000:  # a shift file has one short row per image
        return False
    try:
        return looks_like_shiftfile(read_lines(path))
    except ProductReadError:
        return False


def find_products(directory: str | os.PathLike) -> ProductPaths:
    """List the TweakReg/AstroDrizzle products of ``directory`` (not recursive).

    Shift files are recognised by name (any ``*.txt`` with ``shift`` in its name) or by
    content (a shift-file header line, or only ``file xsh ysh rot scale xrms yrms``
    rows), so several attempts (``shift814_flc_test1.txt``, ``Gaia_shifts.txt`` ...) are
    all found while ``skyfile.txt`` or a captured stdout are not. A damaged shift file
    is therefore listed, and :func:`load_products` reports it instead of ignoring it.
    Logs (``*.log``) are told apart by their banner, else by their name (``tweakreg``,
    ``astrodrizzle``/``driz`` in it): a damaged or foreign file with such a name is read
    and reported as unreadable, never ignored. Also found: ``*_catalog_fit.match``, ``*_drc.fits``/``*_drz.fits``,
    ``*_flc.fits``/``*_flt.fits``, ``*_sky_catalog.coo`` and ``*_single_sci.fits``.

    Parameters
    ----------
    directory : str or path-like

    Returns
    -------
    ProductPaths
        Sorted paths by kind.

    Raises
    ------
    ProductReadError
        If ``directory`` is not a readable directory.
    """
    root = Path(directory)
    try:
        files = sorted(p for p in root.iterdir() if p.is_file())
    except OSError as exc:
        raise ProductReadError(root, f"cannot be listed: {exc.strerror or exc}") from None
    kinds: dict[str, list[str]] = {k: [] for k in ("shiftfiles", "fit_matches",
                                                   "tweakreg_logs", "drizzle_logs",
                                                   "drizzled", "inputs", "catalogs",
                                                   "singles")}
    for path in files:
        name = path.name.lower()
        if name.endswith(".txt") and _is_shiftfile(path):
            kinds["shiftfiles"].append(str(path))
        elif name.endswith("_catalog_fit.match"):
            kinds["fit_matches"].append(str(path))
        elif name.endswith(".log"):
            kind = sniff_log(_head_lines(path))
            if kind is None and "tweakreg" in name:  # named so: read, and say what it is
                kind = "tweakreg"
            elif kind is None and ("astrodrizzle" in name or "driz" in name):
                kind = "astrodrizzle"
            if kind == "tweakreg":
                kinds["tweakreg_logs"].append(str(path))
            elif kind == "astrodrizzle":
                kinds["drizzle_logs"].append(str(path))
        elif name.endswith(("_drc.fits", "_drz.fits")):
            kinds["drizzled"].append(str(path))
        elif name.endswith(("_flc.fits", "_flt.fits")):
            kinds["inputs"].append(str(path))
        elif name.endswith("_sky_catalog.coo"):
            kinds["catalogs"].append(str(path))
        elif name.endswith("_single_sci.fits"):
            kinds["singles"].append(str(path))
    return ProductPaths(directory=str(root), **{k: tuple(v) for k, v in kinds.items()})


def _preferred(paths: tuple[str, ...], name: str) -> str | None:
    """The file called ``name`` if present, else the last by name (never by modification
    time: copies and checkouts reset it)."""
    if not paths:
        return None
    for p in paths:
        if Path(p).name == name:
            return p
    return max(paths)


def _context(products: dict) -> Context:
    inputs, drc, dlog, tlog = (products["inputs"], products["drc"], products["drizzle_log"],
                               products["tweakreg_log"])
    instrument = detector = scale = None
    pairs = {(i.instrument, i.detector) for i in inputs if i.instrument}
    if len(pairs) == 1:
        instrument, detector = pairs.pop()
        scales = {round(i.pixel_scale, 6) for i in inputs}
        scale = scales.pop() if len(scales) == 1 else None
    elif not pairs and drc is not None and drc.header.get("INSTRUME"):
        instrument = str(drc.header["INSTRUME"]).upper()
        detector = str(drc.header.get("DETECTOR", "")).upper() or None
        scale = NOMINAL_SCALE.get((instrument, detector))
    elif not pairs and dlog is not None and dlog.instrument:
        instrument, detector = dlog.instrument, dlog.detector
    fitgeometry = tlog.fitgeometry if tlog is not None else None
    return Context(instrument=instrument, detector=detector, fitgeometry=fitgeometry,
                   pixel_scale=scale if scale == scale else None)


def _reference_of(sf: ShiftFile, log: TweakRegLog | None) -> str:
    """The reference image of the TweakReg run that wrote ``sf`` (its ``refimage``
    parameter, else the image its fits were matched to), lower-case file name; "" when
    the log does not say."""
    runs = [r for r in (log.runs if log is not None else ()) if r.shiftfile == sf.name]
    if not runs:
        return ""
    run = runs[-1]
    ref = run.params.get("refimage", "").strip().split("[")[0]
    if not ref:
        refs = {f.reference for f in log.fits if f.run == run.index and f.reference}
        ref = refs.pop() if len(refs) == 1 else ""
    return file_name(ref).lower()


def _with_frame_scale(sf: ShiftFile, fit_matches: tuple[FitMatches, ...],
                      log: TweakRegLog | None,
                      inputs: tuple[InputExposure, ...]) -> ShiftFile:
    """``sf`` with the scale of the frame its pixels are in (the reference image's WCS,
    which may be another detector's mosaic): the median over the current match files of
    its images (their ``x_ref, y_ref`` are in that frame; see
    :func:`~hst_align_qa.checks.frames.fit_frame_scale`); else, when the log names the
    writing run's reference image and it is one of the input exposures, that exposure's
    scale (TweakReg's output frame is the reference's undistorted WCS). Otherwise it
    cannot be told from the products, and stays None."""
    images = {file_name(row.image).lower() for row in sf.rows}
    told = [(scale, file_name(fm.path)) for fm in fit_matches
            if file_name(fm.image).lower() in images
            and (scale := fit_frame_scale(fm)) is not None]
    if told:
        scale = float(np.median([s for s, _ in told]))
        where = f"{len(told)} *_catalog_fit.match file(s) of its images, e.g. {told[0][1]}"
        return dataclasses.replace(sf, frame_scale=scale, frame_scale_from=where)
    reference = _reference_of(sf, log)
    for exp in inputs:
        if reference and exp.name.lower() == reference and exp.pixel_scale > 0:
            return dataclasses.replace(sf, frame_scale=exp.pixel_scale,
                                       frame_scale_from=f"its reference image {exp.name} "
                                       "(the TweakReg run that wrote it), IDCSCALE")
    return sf


def load_products(paths: ProductPaths, *,
                  inputs: Iterable[str | os.PathLike] | None = None) -> Products:
    """Parse every product listed in ``paths`` into one frozen :class:`Products`.

    Parameters
    ----------
    paths : ProductPaths
        From :func:`find_products`.
    inputs : iterable of path-like, optional
        Input exposures to describe instead of the ``*_flc``/``*_flt`` files found in
        the directory (e.g. the pristine inputs of a pipeline run).

    Returns
    -------
    Products
        The TweakReg log is ``tweakreg.log`` when present (else the last by name);
        likewise ``astrodrizzle.log`` for the AstroDrizzle log; the drizzled image is the
        first ``_drc`` (else ``_drz``) file. ``context`` gives instrument/detector (from
        the inputs, else the drizzled image, else the static-mask names in the
        AstroDrizzle log), the fit geometry of the last TweakReg run and the pixel scale.
        ``single`` holds the per-exposure ``*_single_sci.fits`` images.

    A product that cannot be parsed does not stop the others: it is left out (a single
    product becomes ``None``; of several files of one kind the readable ones stay) and
    ``unreadable`` says, per attribute, which file and why (the first such file of the
    kind, and how many more there are). Only the checks that read that attribute are
    affected (:func:`hst_align_qa.checks.registry.run_check`).

    Raises :class:`~hst_align_qa.checks.readers.NotHSTError` when an input exposure or the
    drizzled image is not an HST imager the gate knows: the dataset is refused in one
    line naming the file and why, never judged with some HST imager's levels.

    Shift and match files from an earlier TweakReg attempt than the last one for their
    images (:func:`hst_align_qa.checks.attempts.sort_attempts`, from content only) are
    left out of ``shiftfiles``/``fit_matches`` and listed in ``stale``. Each current
    shift file's ``frame_scale`` (arcsec per pixel of its shifts and rms) is told by
    the current match files of its images when there are some, else by its reference
    image when that is one of the inputs.
    """
    input_paths = tuple(str(p) for p in inputs) if inputs is not None else paths.inputs
    tlog = _preferred(paths.tweakreg_logs, "tweakreg.log")
    dlog = _preferred(paths.drizzle_logs, "astrodrizzle.log")
    drc = sorted(paths.drizzled, key=lambda p: (not p.lower().endswith("_drc.fits"), p))
    unreadable: dict[str, str] = {}

    def many(attr: str, reader, files) -> tuple:
        out, errors = [], []
        for path in files:
            try:
                out.append(reader(path))
            except NotHSTError:
                raise  # data the gate does not know: refuse the dataset, judge nothing
            except ProductReadError as exc:
                errors.append(str(exc))
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            unreadable[attr] = errors[0] + more
        return tuple(out)

    def one(attr: str, reader, path):
        got = many(attr, reader, [path] if path else [])
        return got[0] if got else None

    products = {
        "shiftfiles": many("shiftfiles", read_shiftfile, paths.shiftfiles),
        "fit_matches": many("fit_matches", read_fit_matches, paths.fit_matches),
        "tweakreg_log": one("tweakreg_log", read_tweakreg_log, tlog),
        "drizzle_log": one("drizzle_log", read_drizzle_log, dlog),
        "drc": one("drc", read_drizzled, drc[0] if drc else None),
        "inputs": many("inputs", read_input_exposure, input_paths),
        "catalogs": many("catalogs", read_sky_catalog, paths.catalogs),
        "single": many("single", read_single, paths.singles),
    }
    shiftfiles, fit_matches, stale = sort_attempts(products["shiftfiles"],
                                                   products["fit_matches"],
                                                   products["tweakreg_log"])
    shiftfiles = tuple(_with_frame_scale(sf, fit_matches, products["tweakreg_log"],
                                         products["inputs"]) for sf in shiftfiles)
    products.update(shiftfiles=shiftfiles, fit_matches=fit_matches)
    return Products(**products, context=_context(products), unreadable=unreadable,
                    stale=stale)
