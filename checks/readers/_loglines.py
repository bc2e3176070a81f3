"""Line-level helpers shared by the log readers: logger prefixes, warning boxes, notes."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..products import LogLine

__all__ = ["split", "unbox", "Notes", "Exceptions", "RunSpans", "PARAM_RE", "PYWARNING_RE",
           "sniff_log", "to_float", "as_logged"]

PREFIX_RE = re.compile(r"^\[(INFO|WARNING|ERROR|DEBUG|CRITICAL)\s*\]\s?(.*)$")
BOX_RE = re.compile(r"^#\s?(.*?)\s*#$")
PARAM_RE = re.compile(r"^\t\s*(\w+)\s*:\t?(.*?)\s*$")
PYWARNING_RE = re.compile(r"\b\w*Warning:\s")
# Lines other code writes into a task's log that say nothing about the task's result:
# IPython's alias errors (a notebook's logger), deprecation and numpy runtime warnings.
NOISE_RE = re.compile(r"Invalid alias: |can't be aliased because it is another magic "
                      r"command|\b(?:Astropy)?(?:Pending)?DeprecationWarning\b|"
                      r"\bRuntimeWarning\b")
_SETUP_RE = re.compile(r"^Setting up logfile\s*:")
_BANNER_RE = re.compile(r"(?:TweakReg|AstroDrizzle) Version\s+\S+.*started at")
_TRAILER_RE = re.compile(r"Trailer file written to")


class RunSpans:
    """Which lines of a log belong to a run of its task.

    A run starts at drizzlepac's "Setting up logfile" line (or, without one, at the
    task's "Version ... started at" banner) and ends at its "Trailer file written" line.
    drizzlepac's logging wrapper reports an unhandled exception right after that line:
    that report belongs to the run it ends. Any other line outside a run (a notebook's
    logger writing on after the trailer, say) belongs to no run.
    """

    def __init__(self):
        self.spans: list[list[int | None]] = []  # [first line, trailer line or None]
        self.open = False
        self.banner = False  # the open run has logged its version banner
        self.grace = False  # just after a trailer: its unhandled-exception report

    def see(self, lineno: int, level: str | None, message: str) -> None:
        """Track one line (``level`` None: a continuation line)."""
        if level is None:
            return
        body = message.strip()
        if self.grace and not (level in ("ERROR", "CRITICAL")
                               and "unhandled exception" in body.lower()):
            self.grace = False
        if _SETUP_RE.search(body) or (_BANNER_RE.search(body) and (
                not self.open or self.banner)):
            self.spans.append([lineno, None])
            self.open, self.banner, self.grace = True, False, False
        if _BANNER_RE.search(body):
            self.banner = True
        if self.open and _TRAILER_RE.search(body):
            self.spans[-1][1] = lineno
            self.open, self.grace = False, True

    def index(self) -> int | None:
        """The run the current line belongs to, or None outside every run."""
        return len(self.spans) - 1 if (self.open or self.grace) and self.spans else None

    def frozen(self) -> tuple[tuple[int, int | None], ...]:
        return tuple((a, b) for a, b in self.spans)


def split(line: str) -> tuple[str | None, str]:
    """``("INFO", message)`` for a logger line, ``(None, line)`` for a continuation."""
    match = PREFIX_RE.match(line)
    if not match:
        return None, line
    return match.group(1), match.group(2)


_CONSOLE_LEVEL_RE = re.compile(r"^(WARNING|ERROR|CRITICAL):?\s")


def as_logged(lines: list[str]) -> tuple[list[str], bool]:
    """The lines as the trailer file has them, and whether they were a console capture.

    A console capture of TweakReg's or AstroDrizzle's output (what a notebook cell or a
    terminal shows) has no ``[INFO    ]`` logger prefixes: each of its lines gets one
    (``[WARNING ]``/``[ERROR   ]`` for lines that start with that word), so that it
    is read like the trailer file. Continuation lines of a traceback keep none.
    """
    if any(PREFIX_RE.match(line) for line in lines):
        return lines, False
    out, in_traceback = [], False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "\t")):
            in_traceback = False
            out.append(line)  # "KeyError: ...": the traceback's last line
            continue
        if in_traceback:
            out.append(line)
            continue
        m = _CONSOLE_LEVEL_RE.match(line)
        level = m.group(1) if m else "INFO"
        out.append(f"[{level:<8s}] {line}")
    return out, True


def unbox(text: str) -> str:
    """Content of a ``textutil.textbox`` line (``# text   #``); '' for its borders."""
    text = text.strip()
    if text and set(text) == {"#"}:
        return ""
    match = BOX_RE.match(text)
    return match.group(1).strip() if match else text


def to_float(text: str | None) -> float:
    return float(text) if text is not None else math.nan


@dataclass
class Notes:
    """Notable lines, de-duplicated (TweakReg logs each warning box twice)."""

    path: str
    spans: RunSpans | None = None  # given: lines outside the task's runs are not notable
    items: list = field(default_factory=list)
    keys: set = field(default_factory=set)

    def add(self, line: int, level: str, kind: str, text: str, key=None, image=None, run=0):
        span = self.spans.index() if self.spans is not None else 0
        if span is None or NOISE_RE.search(text):
            return None
        key = (kind, run, key if key is not None else text)
        if key in self.keys:
            return None
        self.keys.add(key)
        item = {"line": line, "level": level, "kind": kind, "text": text.strip(),
                "image": image, "run": run, "span": span}
        self.items.append(item)
        return item

    def frozen(self) -> tuple[LogLine, ...]:
        return tuple(LogLine(path=self.path, line=i["line"], level=i["level"], kind=i["kind"],
                             text=" ".join(i["text"].split()), run=i["span"])
                     for i in self.items)


class Exceptions:
    """Turns ``[ERROR] An unhandled exception ...`` + traceback into one fail line."""

    def __init__(self, notes: Notes):
        self.notes = notes
        self.pending = None

    def error(self, lineno: int, text: str, run: int) -> None:
        kind = "exception" if "exception" in text.lower() else "log-error"
        self.pending = self.notes.add(lineno, "fail", kind, text or "[ERROR]",
                                      key=(lineno,), run=run)

    def continuation(self, line: str, lineno: int = 0, run: int = 0) -> None:
        if self.pending is None and line.startswith("Traceback (most recent call last)"):
            # a traceback printed into the log without an [ERROR] line before it
            self.pending = self.notes.add(lineno, "fail", "exception", "Python traceback:",
                                          key=(lineno,), run=run)
            return
        if self.pending is not None and line.strip() and not line.startswith((" ", "\t")):
            # the last unindented line of a traceback is "KeyError: ..."
            self.pending["summary"] = line.strip()

    def close(self) -> None:
        if self.pending is not None and self.pending.get("summary"):
            self.pending["text"] = f"{self.pending['text']} {self.pending['summary']}"
        self.pending = None



def sniff_log(lines: list[str]) -> str | None:
    """``"tweakreg"``, ``"astrodrizzle"`` or ``None`` from the first lines of a log."""
    for line in lines[:400]:
        if "TweakReg Version" in line:
            return "tweakreg"
        if "AstroDrizzle Version" in line or "==== Processing Step" in line:
            return "astrodrizzle"
    return None

