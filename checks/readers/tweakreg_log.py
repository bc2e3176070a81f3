"""Reader of TweakReg runfiles (``tweakreg.log``): 2019 TweakReg 1.4.x and drizzlepac 3.x.

Both formats' per-image lines come from the same ``print`` format strings
(``imgclasses.Image.performFit``, ``imgclasses._estimate_2dhist_shift``); what differs is
the banner and version block, quoting and a few lines (see
``tests/data/tweakreg_3.11/README.md``). Older TweakReg wrote ``XRMS: a  YRMS: b`` without
``FIT`` and split "Found initial X and Y shifts" over two lines; those are accepted too.

``notable`` lines are failures (level ``"fail"``) and silent fallbacks or warnings that
change the result (level ``"warn"``). Python warnings raised by libraries (``...Warning:``
lines such as astropy's ``VerifyWarning`` about HIERARCH cards) are not notable.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path

from ..products import ImageFit, TweakRegLog, TweakRegRun
from ._common import NUMBER as N, ProductReadError, read_lines, wrap_angle, wrap_rotation
from ._loglines import (PARAM_RE, PYWARNING_RE, Banner, Exceptions, Notes, RunSpans,
                        as_logged, split, starts_a_run, to_float, traceback_task, unbox)

__all__ = ["read_tweakreg_log"]


# (regex on the unboxed message, level, kind); the first match wins.
_TWEAKREG_RULES = [
    (re.compile(r"Not enough matches \(< ?(\d+)\) found for input image: (\S+)"),
     "fail", "not-enough-matches"),
    (re.compile(r"Image '(.+?)' will not be aligned since it contains fewer than (\d+) "
                r"sources"), "fail", "too-few-sources"),
    (re.compile(r"No filenames matching input"), "fail", "no-input"),
    # drizzlepac 3.11 words it both ways (tweakreg.py: "are available", "available")
    (re.compile(r"Fewer than two images (?:are )?available for alignment|No images available "
                r"for alignment|No valid sources in reference frame|Problem with input "
                r"parameters|Quitting as a result of user request"), "fail", "quit"),
    (re.compile(r"No objects found for this image|No valid sources found with the current "
                r"parameter values"), "warn", "no-sources"),
    (re.compile(r"No matches found within a search radius|No valid shift found within a "
                r"search radius"), "warn", "initial-shift-fallback"),
    (re.compile(r"peak in the 2D histogram lies at the edge"), "warn", "2dhist-edge"),
    (re.compile(r"Least squares failed"), "warn", "peak-fit-fallback"),
    (re.compile(r"number of sources for the fit < number of clipping"), "warn",
     "clipping-disabled"),
    (re.compile(r"Reference image appears to have a distorted WCS"), "warn",
     "distorted-reference"),
    (re.compile(r"NOT trimmed by flux|did not contain fluxes for use in trimming|No fluxes "
                r"read in for catalog"), "warn", "catalog-not-trimmed"),
    (re.compile(r"does not contain entries for the following images"), "warn",
     "catalog-missing-images"),
    (re.compile(r"Headerlet generation requested, but"), "warn", "no-headerlet"),
    (re.compile(r"Radius of convolution box smaller than one"), "warn", "conv-box"),
]
# Lines logged at WARNING that are expected behaviour, not a problem.
_TWEAKREG_BENIGN = re.compile(r"^WARNING:?$|Reference image contains a distorted WCS|"
                              r"Using the undistorted version of this WCS")

_RUN_RE = re.compile(r"TweakReg Version\s+([^\s(]+)")
_NSOURCES_RE = re.compile(r"FINAL number of objects (?:in|on) image '(.+?)':\s*(\d+)")
_PERFORM_RE = re.compile(r"^Performing fit for:\s*(\S+)")
_MATCHING_RE = re.compile(r"^Matching sources from '(.+?)' with sources from reference "
                          r"(?:(image|catalog)\s+)'(.+?)'")
_INITIAL_RE = re.compile(rf"Found initial X and Y shifts of\s+({N})\s*,?\s+({N})"
                         rf"(?:\s+with significance of\s+({N})\s+and\s+(\d+)\s+matches"
                         rf"|\s+based on a single non-zero bin and\s+(\d+)\s+matches)?")
_SIGNIF_RE = re.compile(rf"^with significance of\s+({N})\s+and\s+(\d+)\s+matches")
_NMATCH_RE = re.compile(r"^Found (\d+) matches for (\S+?)\.\.\.")
_COMPUTED_RE = re.compile(r"^Computed\s+(\w+)\s+fit for\s+(\S+)")
_XSH_RE = re.compile(rf"XSH:\s*({N})\s+YSH:\s*({N})(?:\s+ROT:\s*({N}))?(?:\s+SCALE:\s*({N}))?")
_PROPER_RE = re.compile(rf"PROPER ROT:\s*({N})")
_ROTS_RE = re.compile(rf"<ROT>:\s*({N})\s+SKEW:\s*({N})\s+ROT_X:\s*({N})\s+ROT_Y:\s*({N})")
_SCALES_RE = re.compile(rf"<SCALE>:\s*({N})\s+SCALE_X:\s*({N})\s+SCALE_Y:\s*({N})")
_RMS_RE = re.compile(rf"(?:FIT\s+)?XRMS:\s*({N})\s+(?:FIT\s+)?YRMS:\s*({N})")
_RMSE_RE = re.compile(rf"(?:FIT\s+)?RMSE:\s*({N})\s+(?:FIT\s+)?MAE:\s*({N})")
_RADEC_RE = re.compile(rf"RMS_RA:\s*({N})\s*\(deg\)\s+RMS_DEC:\s*({N})")
_FINAL_RE = re.compile(r"Final solution based on\s+(\d+)\s+objects")
_SHIFTFILE_RE = re.compile(r"Writing out shiftfile\s*:\s*(\S+)")


def _new_fit(image: str, lineno: int, run: int) -> dict:
    return {"image": image, "line": lineno, "run": run, "reference": "",
            "reference_kind": "", "extra": {},
            "n_matches": None, "fitgeometry": None, "failed": False, "reason": "",
            "done": False}


def _freeze_fit(b: dict, n_sources: dict) -> ImageFit:
    g = b.get
    extra = dict(b["extra"])
    for key in ("ROT_X", "ROT_Y"):
        if key in extra:
            extra[key] = wrap_angle(extra[key])
    skew = g("skew", math.nan)
    if "ROT" in extra:
        extra["ROT"], skew = wrap_rotation(extra["ROT"], skew, extra.get("ROT_X", math.nan),
                                           extra.get("ROT_Y", math.nan))
    else:
        skew = wrap_angle(skew)
    return ImageFit(
        image=b["image"], n_matches=b["n_matches"], xrms=g("xrms", math.nan),
        yrms=g("yrms", math.nan), fitgeometry=b["fitgeometry"], xsh=g("xsh", math.nan),
        ysh=g("ysh", math.nan), rot=wrap_angle(g("rot", math.nan)),
        scale=g("scale", math.nan), skew=skew, rmse=g("rmse", math.nan),
        mae=g("mae", math.nan), n_sources=n_sources.get((b["run"], b["image"])),
        failed=b["failed"], reason=b["reason"], extra=extra, run=b["run"], line=b["line"],
        reference=b["reference"], reference_kind=b["reference_kind"])


class _TweakRegParser:
    def __init__(self, path):
        self.path = path
        self.spans = RunSpans()
        self.notes = Notes(str(path), self.spans)
        self.exc = Exceptions(self.notes)
        self.banner = Banner(self.notes)
        self.runs: list[dict] = []
        self.blocks: list[dict] = []
        self.block: dict | None = None
        self.n_sources: dict = {}
        self.section = None  # "images" | "unmatched" | None
        self.param_section = ""
        self.pending_initial = False
        self.styles: set[str] = set()  # "3.x" ("FIT XRMS:") / "2019" ("XRMS:") lines seen
        self.cut = False  # a capture of a run's end only: no banner, a TweakReg traceback

    def start_cut(self) -> None:
        """Read the whole file as the end of one run whose start was not captured (a
        user's paste of TweakReg's crash: its traceback runs through tweakreg.py)."""
        self.cut = True
        self.spans.start(1)
        self.runs.append({"index": 0, "line": 1, "version": "", "params": {},
                          "images": [], "shiftfile": "", "completed": False})

    @property
    def run(self) -> dict:
        if not self.runs:
            self.runs.append({"index": 0, "line": 1, "version": "", "params": {},
                              "images": [], "shiftfile": "", "completed": False})
        return self.runs[-1]

    def start_block(self, image: str, lineno: int) -> dict:
        self.block = _new_fit(image, lineno, self.run["index"])
        self.blocks.append(self.block)
        return self.block

    def block_for(self, image: str, lineno: int) -> dict:
        """The open block of ``image`` in this run, or a new one."""
        run = self.run["index"]
        b = self.block
        if b is not None and b["image"] == image and b["run"] == run and not b["done"]:
            return b
        # an image omitted for too few sources is matched once more at the end of the run:
        # that is the same attempt
        for old in reversed(self.blocks):
            if old["run"] == run and old["image"] == image and old.get("omitted"):
                self.block = old
                return old
        return self.start_block(image, lineno)

    def feed(self, lineno: int, line: str) -> None:
        level, msg = split(line)
        self.spans.see(lineno, level, msg)
        if level is None:  # (a line before any banner opens no run)
            self.exc.continuation(line, lineno, self.runs[-1]["index"] if self.runs else 0)
            return
        self.exc.close()
        if self.banner.see(lineno, level, unbox(msg), self.runs[-1]["index"] if self.runs
                           else 0):
            return
        if level in ("ERROR", "CRITICAL"):
            self.exc.error(lineno, msg.strip(), self.run["index"])
            return
        param = PARAM_RE.match(msg) if msg.startswith("\t") else None
        if param:
            key = param.group(1)
            if "reference image" in self.param_section:
                key = "refimage:" + key
            self.run["params"].setdefault(key, param.group(2))
            return
        body = unbox(msg)
        if self.section and self.section_line(body):
            return
        self.parse(lineno, level, body)

    def section_line(self, body: str) -> bool:
        """Lines of the "Finding shifts for:" and "Unable to match" lists (end: blank)."""
        if not body:
            self.section = None
            return True
        if set(body) <= {"-"}:
            return True
        if " " in body:  # not a file name: the list ended without a blank line
            self.section = None
            return False
        if self.section == "images":
            self.run["images"].append(body)
        else:
            for b in reversed(self.blocks):
                if b["image"] == body and b["run"] == self.run["index"]:
                    if not b["failed"]:
                        b.update(failed=True, reason=b["reason"] or "Unable to match")
                    break
            else:
                b = self.start_block(body, 0)
                b.update(failed=True, reason="Unable to match", done=True)
        return True

    def parse(self, lineno: int, level: str, body: str) -> None:
        if m := _RUN_RE.search(body):
            self.runs.append({"index": len(self.runs), "line": lineno, "version": m.group(1),
                              "params": {}, "images": [], "shiftfile": "",
                              "completed": False})
            self.block = None
            return
        if body.startswith("USER INPUT PARAMETERS"):
            self.param_section = body
            return
        if body.startswith("Finding shifts for"):
            self.section = "images"
            return
        if body.startswith("Unable to match the following images"):
            self.section = "unmatched"
            return
        if "Trailer file written" in body:
            self.run["completed"] = True
            return
        if m := _SHIFTFILE_RE.search(body):
            self.run["shiftfile"] = Path(m.group(1)).name
            return
        if m := _NSOURCES_RE.search(body):
            self.n_sources[(self.run["index"], m.group(1))] = int(m.group(2))
            return
        if self.fit_line(lineno, body):
            return
        self.notable(lineno, level, body)

    def fit_line(self, lineno: int, body: str) -> bool:
        if m := _PERFORM_RE.match(body):
            self.start_block(m.group(1), lineno)
            return True
        if m := _MATCHING_RE.match(body):
            b = self.block_for(m.group(1), lineno)
            b["reference"], b["reference_kind"] = m.group(3), m.group(2)
            return True
        b = self.block
        if b is None:
            return False
        extra = b["extra"]
        if self.pending_initial and (m := _SIGNIF_RE.match(body)):
            extra.update(initial_significance=float(m.group(1)),
                         initial_matches=float(m.group(2)))
            self.pending_initial = False
            return True
        self.pending_initial = False
        if m := _INITIAL_RE.search(body):
            extra.update(initial_xsh=float(m.group(1)), initial_ysh=float(m.group(2)))
            if m.group(3) is not None:
                extra.update(initial_significance=float(m.group(3)),
                             initial_matches=float(m.group(4)))
            elif m.group(5) is not None:  # "based on a single non-zero bin": only the
                extra["initial_matches"] = float(m.group(5))  # initial guess, not notable
            else:
                self.pending_initial = True  # old two-line form
            return True
        if m := _NMATCH_RE.match(body):
            extra["n_xyxymatch"] = float(m.group(1))
        elif m := _COMPUTED_RE.match(body):
            b["fitgeometry"] = m.group(1)
        elif m := _ROTS_RE.search(body):
            b["skew"] = float(m.group(2))
            extra.update(ROT=float(m.group(1)), ROT_X=float(m.group(3)),
                         ROT_Y=float(m.group(4)))
        elif m := _SCALES_RE.search(body):
            b["scale"] = float(m.group(1))
            extra.update(SCALE_X=float(m.group(2)), SCALE_Y=float(m.group(3)))
        elif m := _XSH_RE.search(body):
            b.update(xsh=float(m.group(1)), ysh=float(m.group(2)))
            if proper := _PROPER_RE.search(body):
                b["rot"] = float(proper.group(1))
                if b["fitgeometry"] == "rscale":
                    self.notes.add(lineno, "warn", "rscale-improper",
                                   f"{b['image']}: the rscale fit is not a proper rotation "
                                   "(TweakReg reports general-fit terms)", key=b["image"],
                                   image=b["image"], run=b["run"])
            elif m.group(3) is None and b["fitgeometry"] == "shift":
                b.update(rot=0.0, scale=1.0)  # a shift fit has no rotation or scale
            else:
                b.update(rot=to_float(m.group(3)), scale=to_float(m.group(4)))
        elif m := _RMSE_RE.search(body):
            b.update(rmse=float(m.group(1)), mae=float(m.group(2)))
        elif m := _RMS_RE.search(body):
            b.update(xrms=float(m.group(1)), yrms=float(m.group(2)))
            self.styles.add("3.x" if "FIT XRMS" in body else "2019")
        elif m := _RADEC_RE.search(body):
            extra.update(RMS_RA_deg=float(m.group(1)), RMS_DEC_deg=float(m.group(2)))
        elif m := _FINAL_RE.search(body):
            b["n_matches"] = int(m.group(1))
            b["done"] = True
        else:
            return False
        return True

    def notable(self, lineno: int, level: str, body: str) -> None:
        for regex, lvl, kind in _TWEAKREG_RULES:
            if m := regex.search(body):
                image = self.rule_image(kind, m, lineno)
                self.notes.add(lineno, lvl, kind, body, key=image or body, image=image,
                               run=self.run["index"])
                return
        if (level == "WARNING" or body.startswith("WARNING")) and body and \
                not PYWARNING_RE.search(body) and not _TWEAKREG_BENIGN.search(body):
            self.notes.add(lineno, "warn", "log-warning", body, run=self.run["index"])

    def rule_image(self, kind: str, m: re.Match, lineno: int) -> str | None:
        if kind == "not-enough-matches":
            image = m.group(2)
            b = self.block  # TweakReg logs the warning box twice: same attempt
            if b is None or b["image"] != image or b["run"] != self.run["index"]:
                b = self.block_for(image, lineno)
            b.update(failed=True, done=True,
                     reason=b["reason"] or f"Not enough matches (< {m.group(1)})")
            return image
        if kind == "too-few-sources":
            image = m.group(1)
            b = self.block_for(image, lineno)
            b.update(failed=True, done=True, omitted=True,
                     reason=f"fewer than {m.group(2)} sources: not aligned")
            self.block = None
            return image
        return None

    def _reference_block(self, b: dict) -> bool:
        """A "Performing fit for:" block of the run's reference image itself that fitted
        nothing (some TweakReg versions print one): not an attempt that failed."""
        if b["failed"] or b["n_matches"] is not None or any(
                k in b for k in ("xrms", "yrms", "xsh", "ysh")):
            return False
        run = self.runs[b["run"]] if b["run"] < len(self.runs) else None
        refs = {Path(o["reference"]).name.lower() for o in self.blocks
                if o["run"] == b["run"] and o is not b and o["reference"]}
        if run is not None and (ref := run["params"].get("refimage", "").strip()):
            refs.add(Path(ref.split("[")[0]).name.lower())
        return Path(b["image"]).name.lower() in refs

    def supersede(self) -> None:
        """Failures of an earlier run that a later run made good become ``superseded``.

        Trying again with other parameters after a failed attempt is the normal way to
        work (issue 23, item 8): a failure in run *r* (an image's "Not enough matches", or
        a crash or quit of the run) is superseded when the last attempt on each image it
        concerns (the image named, or every image run *r* tried) is a good fit of a later
        run. A failure of the last run, or of an image whose last attempt failed, stays.
        """
        if not self.runs:
            return
        last_run = self.runs[-1]["index"]
        last = {Path(b["image"]).name.lower(): b for b in self.blocks}
        for item in self.notes.items:
            run = item["run"]
            if item["level"] != "fail" or run >= last_run:
                continue
            if item["image"]:
                names = {Path(item["image"]).name.lower()}
            else:
                names = {Path(b["image"]).name.lower() for b in self.blocks
                         if b["run"] == run}
                names |= {Path(i).name.lower() for i in self.runs[run]["images"]}
            if names and all(n in last and not last[n]["failed"] and last[n]["run"] > run
                             for n in names):
                by = sorted({last[n]["run"] + 1 for n in names})
                item.update(level="superseded", text=f"{item['text']} (superseded: run(s) "
                            f"{', '.join(map(str, by))} fitted {', '.join(sorted(names))})")

    def result(self) -> TweakRegLog:
        self.exc.close()
        if not self.cut and (not self.runs or (not self.runs[0]["version"] and
                                               not self.blocks)):
            raise ProductReadError(self.path, "is not a TweakReg log: no 'TweakReg "
                                   "Version' banner and no image fit")
        latest = {}
        for b in self.blocks:
            latest[(b["run"], b["image"])] = b
        for item in self.notes.items:  # a later successful retry turns a failure into a warning
            b = latest.get((item["run"], item["image"]))
            if item["kind"] == "not-enough-matches" and b is not None and not b["failed"]:
                item.update(level="warn", kind="match-retried")
        stopped: dict[int, str] = {}
        for item in self.notes.items:  # the first exception or quit of a run stopped it
            if item["kind"] in ("exception", "terminated", "quit", "no-input"):
                stopped.setdefault(item["run"], " ".join(item["text"].split()))
        version = next((r["version"] for r in reversed(self.runs) if r["version"]), "")
        major = version.split(".")[0]
        # the lines decide, not the banner: a "1.4.7" banner can precede "FIT XRMS:" lines
        if self.styles:
            fmt = "3.x" if "3.x" in self.styles else "2019"
        else:
            fmt = "3.x" if major.isdigit() and int(major) >= 3 else "2019"
        self.blocks = [b for b in self.blocks if not self._reference_block(b)]
        for b in self.blocks:  # the image being fitted when its run crashed or quit
            if b["run"] in stopped and not b["failed"] and b["n_matches"] is None and \
                    "xrms" not in b and "xsh" not in b:
                b.update(failed=True, reason=f"its run stopped: {stopped[b['run']]}")
        self.supersede()
        return TweakRegLog(
            path=str(self.path), format=fmt, version=version,
            fits=tuple(_freeze_fit(b, self.n_sources) for b in self.blocks),
            notable=self.notes.frozen(), spans=self.spans.frozen(),
            runs=tuple(TweakRegRun(index=r["index"], line=r["line"], version=r["version"],
                                   params=r["params"], images=tuple(r["images"]),
                                   shiftfile=r["shiftfile"], completed=r["completed"],
                                   stopped=stopped.get(r["index"], ""))
                       for r in self.runs))


def read_tweakreg_log(path: str | os.PathLike) -> TweakRegLog:
    """Read a TweakReg runfile (2019 TweakReg 1.4.x or drizzlepac 3.x format).

    Parameters
    ----------
    path : str or path-like
        The runfile. TweakReg appends to it, so it may hold several runs; each becomes a
        :class:`~checks.products.TweakRegRun` and every image fit records its run.

    Returns
    -------
    TweakRegLog
        ``fits`` has one :class:`~checks.products.ImageFit` per image per attempt, in file
        order (``latest_fits()`` keeps the last one per image): final number of fitted
        objects, XRMS/YRMS, RMSE/MAE, fit geometry, shifts/rotation/scale/skew, number of
        sources found, and ``failed``/``reason`` for images TweakReg could not align.
        ``extra`` holds ROT_X/ROT_Y/SCALE_X/SCALE_Y (general fits), the initial 2D
        histogram shift, and RMS_RA_deg/RMS_DEC_deg. Angles are wrapped to (-180, 180]
        (TweakReg prints e.g. ``SKEW: 359.997`` for -0.003 deg and ``<ROT>: 180.0027`` for
        the mean of ROT_X 359.9996 and ROT_Y 0.0058; ``<ROT>`` and ``SKEW`` are
        recomputed from the wrapped ROT_X and ROT_Y). ``notable`` lists failures and
        fallbacks with their line numbers.

    A console capture of TweakReg's output (no logger prefixes) is read the same way
    (``console`` is then true). A capture without any run's start (no banner, no
    "Setting up logfile") whose traceback runs through ``drizzlepac/tweakreg.py`` (a
    crash pasted in an issue) is one run, cut at its start, that stopped with that
    exception.

    Raises
    ------
    ProductReadError
        If the file cannot be read or holds neither a TweakReg banner, nor an image fit,
        nor a traceback through TweakReg.
    """
    parser = _TweakRegParser(path)
    lines, console = as_logged(read_lines(path))
    if not any(starts_a_run(line) for line in lines) and traceback_task(lines) == "tweakreg":
        parser.start_cut()
    for lineno, line in enumerate(lines, start=1):
        parser.feed(lineno, line)
    return dataclasses.replace(parser.result(), console=console)
