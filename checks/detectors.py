"""What the checks know about each HST imager (``checks/detectors.toml``)."""
from __future__ import annotations

import functools
import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Mapping

__all__ = ["Detector", "detectors", "detector", "nearest_detector", "Told", "from_name",
           "ROOTNAME_INSTRUMENTS", "hst_imager"]


@dataclass(frozen=True)
class Detector:
    """One instrument/detector: ``name`` is ``"INSTRUMENT/DETECTOR"``."""

    name: str
    plate_scale: float  # arcsec per pixel
    chips: int
    lookup_tables: bool
    note: str
    mama: bool = False  # photon-counting MAMA: no cosmic rays, no CTE correction
    # arcsec/px of TweakReg's fit frame when an exposure of this detector is the reference
    # image (None: plate_scale)
    frame_scale: float | None = None


@functools.cache
def detectors() -> Mapping[str, Detector]:
    """Every detector of ``detectors.toml``, by name."""
    text = resources.files(__package__).joinpath("detectors.toml").read_text(encoding="utf-8")
    return MappingProxyType({
        name: Detector(name=name, plate_scale=float(e["plate_scale"]), chips=int(e["chips"]),
                       lookup_tables=bool(e["lookup_tables"]), note=str(e["note"]),
                       mama=bool(e.get("mama", False)),
                       frame_scale=float(e["frame_scale"]) if "frame_scale" in e else None)
        for name, e in tomllib.loads(text)["detectors"].items()})


def detector(instrument: str | None, name: str | None) -> Detector | None:
    """The detector of an INSTRUME/DETECTOR pair (None when unknown)."""
    if not instrument or not name:
        return None
    return detectors().get(f"{instrument.strip()}/{name.strip()}".upper())


def nearest_detector(scale: float, tolerance: float = 0.15,
                     instrument: str | None = None) -> Detector | None:
    """The detector whose plate scale is closest to ``scale`` arcsec/px, if it is within
    ``tolerance`` (relative) and the next closest is at least twice as far; None
    otherwise (ACS/HRC, ACS/SBC and the STIS MAMAs share ~0.025"/px: never told apart).
    ``instrument`` (e.g. from the rootname) limits the candidates to its detectors."""
    if not (math.isfinite(scale) and scale > 0):
        return None
    pool = [d for d in detectors().values()
            if instrument is None or d.name.split("/")[0] == instrument.upper()]
    if not pool:
        return None
    ranked = sorted(pool, key=lambda d: abs(scale - d.plate_scale) / d.plate_scale)
    best = abs(scale - ranked[0].plate_scale) / ranked[0].plate_scale
    if best > tolerance:
        return None
    if len(ranked) > 1:
        second = abs(scale - ranked[1].plate_scale) / ranked[1].plate_scale
        if second < 2.0 * best or ranked[1].plate_scale == ranked[0].plate_scale:
            return None
    return ranked[0]


# IPPPSSOOT: the first letter names the instrument (HST Data Handbook, "Names of files":
# i WFC3, j ACS, o STIS, u WFPC2; l COS, n NICMOS, w WF/PC-1, x FOC, y FOS, z GHRS).
ROOTNAME_INSTRUMENTS: Mapping[str, str] = MappingProxyType({
    "i": "WFC3", "j": "ACS", "o": "STIS", "u": "WFPC2", "l": "COS", "n": "NICMOS",
    "w": "WFPC", "x": "FOC", "y": "FOS", "z": "GHRS"})
_ROOTNAME_RE = re.compile(r"[a-z][a-z0-9]{8}")


@dataclass(frozen=True)
class Told:
    """What a file name tells about its imager: the instrument (or None), the detector
    when the name alone decides it, and how (one phrase for the result's details)."""

    instrument: str | None
    detector: Detector | None
    how: str


def from_name(name: str) -> Told:
    """Instrument (and where the suffix decides it, detector) of an exposure named
    ``<ipppssoot>_<suffix>.fits``.

    Only WFC3 and ACS CCDs have CTE-corrected ``_flc`` files of the imagers with levels
    here: ``i*_flc`` is WFC3/UVIS (IR is not CTE-corrected) and ``j*_flc`` ACS/WFC
    (calacs corrects WFC only). A WFPC2 file (``u*``) holds PC1 and WF2-4 and is judged as
    WF, three of its four chips. Anything else gives the instrument alone.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    root, _, rest = base.partition("_")
    suffix = rest.split(".", 1)[0]
    if not _ROOTNAME_RE.fullmatch(root):
        return Told(None, None, f"{base!r} is not an HST rootname (IPPPSSOOT)")
    instrument = ROOTNAME_INSTRUMENTS.get(root[0])
    if instrument is None:
        return Told(None, None, f"rootname {root}: no HST instrument has the letter "
                                f"{root[0]!r}")
    how = f"rootname {root}: {root[0]} is {instrument}"
    if instrument == "WFPC2":
        return Told(instrument, detectors()["WFPC2/WF"],
                    f"{how}; a WFPC2 file holds PC1 and WF2-4: judged as WF")
    if suffix == "flc" and instrument in ("WFC3", "ACS"):
        det = detectors()["WFC3/UVIS" if instrument == "WFC3" else "ACS/WFC"]
        return Told(instrument, det, f"{how}; _flc (CTE-corrected) exists only for "
                                     f"{det.name} of its detectors")
    if instrument not in {k.split("/")[0] for k in detectors()}:
        return Told(instrument, None, f"{how}, not an imager with levels here")
    return Told(instrument, None, how)


def hst_imager(telescope: str, instrument: str, detector: str, obstype: str = "",
               chips: tuple[str, ...] = ()) -> tuple[Detector | None, str]:
    """``(detector, "")`` for an HST imaging exposure the gate knows, else ``(None, why)``:
    the one-line reason it is refused (never judged with another imager's levels).

    ``telescope``, ``instrument``, ``detector``, ``obstype``: TELESCOP, INSTRUME, DETECTOR
    and OBSTYPE of the primary header ("" when absent). ``chips``: DETECTOR of each
    chip header, for WFPC2, whose primary header has none (1 = PC1, 2-4 = WF): a file of
    PC1 alone is WFPC2/PC, any other WFPC2/WF.
    """
    tel, inst, det = (str(v or "").strip().upper() for v in (telescope, instrument, detector))
    if tel and tel != "HST":
        return None, (f"is not HST data (TELESCOP {telescope.strip()!r}, INSTRUME "
                      f"{instrument.strip()!r}): the gate judges HST imagers only "
                      f"({', '.join(sorted(detectors()))})")
    if str(obstype or "").strip().upper() == "SPECTROSCOPIC":
        return None, (f"is a spectroscopic {inst or 'HST'} exposure (OBSTYPE "
                      "'SPECTROSCOPIC'), not an image to align")
    if inst == "WFPC2" and det not in ("PC", "WF"):
        chip_ids = {str(c).strip() for c in chips if str(c).strip()}
        det = "PC" if chip_ids == {"1"} else "WF"
    found = detectors().get(f"{inst}/{det}")
    if found is None:
        what = f"INSTRUME {instrument.strip()!r}, DETECTOR {detector.strip()!r}" if (
            inst or det) else "no INSTRUME/DETECTOR"
        return None, (f"is not an HST imager the gate knows ({what}; known: "
                      f"{', '.join(sorted(detectors()))}): no levels apply to it")
    return found, ""
