"""Readers of TweakReg's small text tables: shift files, fit match files, sky catalogs."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from types import MappingProxyType

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..products import FitMatches, ShiftFile, ShiftRow, SourceCatalog, file_name
from ._common import (NUMBER_RE, ProductReadError, parse_int, parse_number, read_lines,
                      readonly, wrap_angle, wrap_rotation)

__all__ = ["read_shiftfile", "read_fit_matches", "read_sky_catalog", "looks_like_shiftfile"]

_SHIFT_KEYS = ("frame", "refimage", "form", "units")
_SHIFT_HEADER_RE = re.compile(r"^#\s*(frame|refimage|form|units)\s*:\s*(.*?)\s*$", re.I)


def _shift_row(fields: list[str], path, lineno: int) -> ShiftRow:
    if len(fields) != 7:
        raise ProductReadError(path, f"line {lineno}: expected 7 columns "
                               f"(file xsh ysh rot scale xrms yrms), got {len(fields)}")
    names = ("xsh", "ysh", "rot", "scale", "xrms", "yrms")
    values = {name: parse_number(text, path, f"line {lineno} column {i + 2} ({name})")
              for i, (name, text) in enumerate(zip(names, fields[1:]))}
    values["rot"] = wrap_angle(values["rot"])
    image = file_name(fields[0])  # images are matched by file name, wherever they were
    return ShiftRow(image=image, line=lineno, written=fields[0] if image != fields[0] else "",
                    **values)


def read_shiftfile(path: str | os.PathLike) -> ShiftFile:
    """Read a TweakReg shift file.

    The header comments ``# frame:``, ``# refimage:``, ``# form:`` and ``# units:``
    are kept (empty when absent); every other line is a row
    ``file xsh ysh rot scale xrms yrms``. A row of an image TweakReg could not fit holds
    ``nan`` shifts (and, in drizzlepac 3.11, zero RMS): it is kept as NaN.

    ``rot`` is wrapped to (-180, 180] (TweakReg writes 359.999913 for -0.000087). A row
    naming its image with a directory (``/data/visit1/ick905k5q_flc.fits``) gets the file
    name as ``image`` (images are matched by file name) and the name as written in
    ``written``. Shifts and rms are in pixels of the shift file's frame (the reference
    image's WCS, ``# frame: output``), not of the input detector:
    :func:`~hst_align_qa.checks.readers.load_products` sets ``frame_scale`` when it can
    tell that frame's scale.

    Parameters
    ----------
    path : str or path-like
        The shift file.

    Returns
    -------
    ShiftFile
        Rows in file order with their 1-based line numbers.

    Raises
    ------
    ProductReadError
        If a row does not have 7 columns or a value is not a number, or the file holds
        neither a header nor a row.
    """
    header = dict.fromkeys(_SHIFT_KEYS, "")
    rows = []
    seen_header = False
    for lineno, line in enumerate(read_lines(path), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            match = _SHIFT_HEADER_RE.match(text)
            if match:
                header[match.group(1).lower()] = match.group(2)
                seen_header = True
            continue
        rows.append(_shift_row(text.split(), path, lineno))
    if not rows and not seen_header:
        raise ProductReadError(path, "is not a shift file: no '# frame:' header and no rows")
    path = Path(path)
    return ShiftFile(name=path.name, path=str(path), rows=tuple(rows), **header)


def looks_like_shiftfile(lines: list[str]) -> bool:
    """Whether text lines claim to be a shift file: a header line (``# frame:``,
    ``# refimage:``, ``# form:``, ``# units:``), or only 7-column numeric rows.

    A file with the header but damaged rows counts: :func:`read_shiftfile` then says
    which line is wrong instead of the file being silently ignored.
    """
    if any(_SHIFT_HEADER_RE.match(line.strip()) for line in lines):
        return True
    header = rows = 0
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            header += bool(_SHIFT_HEADER_RE.match(text))
            continue
        fields = text.split()
        if len(fields) != 7 or not all(NUMBER_RE.match(f) for f in fields[1:]):
            return False
        rows += 1
    if header:
        return rows > 0 or header >= 2
    return rows > 0


# --- *_catalog_fit.match ------------------------------------------------------------------

FIT_COLUMNS = ("x_ref", "y_ref", "x_in", "y_in", "x_fit", "y_fit", "dx", "dy",
               "x_ref_orig", "y_ref_orig", "x_in_orig", "y_in_orig",
               "ref_id", "in_id", "chip", "ra", "dec", "ref_source")
_INT_COLUMNS = {"ref_id", "in_id", "chip"}
_FIT_HEADER = {
    "x and y rms": ("xrms", "yrms"),
    "x and y shift": ("xsh", "ysh"),
    "x and y scale": ("xscale", "yscale"),
    "x and y rotation": ("xrot", "yrot"),
    "<rotation> and skew": ("rot", "skew"),
}
_FIT_HEADER_RE = re.compile(r"^#\s*(.+?)\s*:\s*(\S+)\s+(\S+)\s*$")


def _fit_header_line(text: str, header: dict, path, lineno: int) -> str | None:
    """Parse one ``#`` line of a fit match file; returns the input image name if given."""
    body = text.lstrip("#").strip()
    if body.lower().startswith("input image:"):
        return body.split(":", 1)[1].strip()
    match = _FIT_HEADER_RE.match(text)
    if match and match.group(1).lower() in _FIT_HEADER:
        keys = _FIT_HEADER[match.group(1).lower()]
        for key, value in zip(keys, match.group(2, 3)):
            header[key] = parse_number(value, path, f"line {lineno} ({key})")
    return None


def read_fit_matches(path: str | os.PathLike) -> FitMatches:
    """Read a TweakReg ``*_catalog_fit.match`` file (sources used in the final fit).

    Parameters
    ----------
    path : str or path-like
        The match file. Its header gives the fit (``X and Y rms``, ``X and Y shift``,
        ``X and Y scale``, ``X and Y rotation``, ``<rotation> and skew``); the 18 data
        columns are described in :class:`checks.products.FitMatches`.

    Returns
    -------
    FitMatches
        ``header`` holds xrms, yrms, xsh, ysh, xscale, yscale, xrot, yrot, rot, skew
        (NaN when a header line is missing). Angles are wrapped to (-180, 180]; rot and
        skew are recomputed from the wrapped X and Y rotations (TweakReg averages
        unwrapped ones: an identity fit can read ``<rotation> and skew: 180 -360``).
        ``table`` has read-only columns; pixel columns carry ``u.pix``, ``ra``/``dec``
        carry ``u.deg``. A file without rows gives an empty table with the same columns.

    Raises
    ------
    ProductReadError
        If a row does not have 18 columns or a numeric column is not a number.
    """
    header = {key: math.nan for pair in _FIT_HEADER.values() for key in pair}
    image = None
    rows = []
    for lineno, line in enumerate(read_lines(path), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            image = _fit_header_line(text, header, path, lineno) or image
            continue
        fields = text.split(None, 17)  # the 18th column (provenance) is free text
        if len(fields) != 18:
            raise ProductReadError(path, f"line {lineno}: expected 18 columns, "
                                   f"got {len(fields)}")
        row = _fit_row(fields, path, lineno)
        row.append(fields[17].strip())
        rows.append(row)
    path = Path(path)
    if image is None:
        image = path.name.removesuffix("_catalog_fit.match") + ".fits"
    header["xrot"], header["yrot"] = wrap_angle(header["xrot"]), wrap_angle(header["yrot"])
    header["rot"], header["skew"] = wrap_rotation(header["rot"], header["skew"],
                                                  header["xrot"], header["yrot"])
    return FitMatches(image=image, path=str(path), header=MappingProxyType(header),
                      table=_fit_table(rows))


_INT_INDEX = tuple(i for i, name in enumerate(FIT_COLUMNS) if name in _INT_COLUMNS)


def _fit_row(fields: list[str], path, lineno: int) -> list:
    """The 17 numeric columns of one fit match row; a bad value raises ProductReadError
    naming its line and column (the message is built only then: ~4000 rows a file)."""
    row = [float(v) if NUMBER_RE.match(v) else None for v in fields[:17]]
    if None not in row and all(math.isfinite(row[i]) and row[i] == int(row[i])
                               for i in _INT_INDEX):
        for i in _INT_INDEX:
            row[i] = int(row[i])
        return row
    return [(parse_int if name in _INT_COLUMNS else parse_number)(
        value, path, f"line {lineno} column {col} ({name})")
        for col, (name, value) in enumerate(zip(FIT_COLUMNS[:17], fields), start=1)]


def _fit_table(rows: list[list]) -> Table:
    columns = list(zip(*rows)) if rows else [()] * len(FIT_COLUMNS)
    table = Table()
    for name, values in zip(FIT_COLUMNS, columns):
        if name == "ref_source":
            data = np.array(values, dtype=str) if values else np.array([], dtype="U1")
        elif name in _INT_COLUMNS:
            data = np.array(values, dtype=np.int64)
        else:
            data = np.array(values, dtype=np.float64)
        unit = u.deg if name in ("ra", "dec") else (
            None if name in _INT_COLUMNS or name == "ref_source" else u.pix)
        table[name] = data
        table[name].unit = unit
    for name in table.colnames:
        readonly(table[name])
    return table


# --- *_sky_catalog.coo --------------------------------------------------------------------

_SKY_TITLE_RE = re.compile(r"^#\s*Sky positions for(?::| cumulative reference catalog\.)"
                           r"\s*(?:Initial catalog from:\s*)?(\S+)?", re.I)


def read_sky_catalog(path: str | os.PathLike) -> SourceCatalog:
    """Read a TweakReg ``*_sky_catalog.coo`` (``RA Dec`` in degrees, optionally ``Flux``).

    Parameters
    ----------
    path : str or path-like
        The catalog. ``#Sky positions for: NAME`` names the image; the cumulative
        reference catalog (``RA Dec Flux ID Origin``) is read as well.

    Returns
    -------
    SourceCatalog
        Read-only ``ra``, ``dec`` (and ``flux`` when a third numeric column exists).

    Raises
    ------
    ProductReadError
        If a row has fewer than 2 columns or a coordinate is not a number.
    """
    image = None
    ra, dec, flux = [], [], []
    for lineno, line in enumerate(read_lines(path), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            match = _SKY_TITLE_RE.match(text)
            if match and image is None:
                image = match.group(1) or ""
            continue
        fields = text.split()
        if len(fields) < 2:
            raise ProductReadError(path, f"line {lineno}: expected at least 2 columns "
                                   f"(RA Dec), got {len(fields)}")
        ra.append(parse_number(fields[0], path, f"line {lineno} column 1 (RA)"))
        dec.append(parse_number(fields[1], path, f"line {lineno} column 2 (Dec)"))
        if len(fields) >= 3 and NUMBER_RE.match(fields[2]):
            flux.append(float(fields[2]))
    path = Path(path)
    if not image:
        image = path.name.removesuffix("_sky_catalog.coo") + ".fits"
    flux_arr = readonly(np.array(flux, dtype=float)) if flux and len(flux) == len(ra) else None
    return SourceCatalog(image=image, path=str(path), ra=readonly(np.array(ra, dtype=float)),
                         dec=readonly(np.array(dec, dtype=float)), flux=flux_arr)
