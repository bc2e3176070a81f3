"""Line-level helpers shared by the log readers: logger prefixes, warning boxes, notes."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from ..products import LogLine

__all__ = ["split", "unbox", "Notes", "Exceptions", "Banner", "RunSpans", "TRACEBACK",
           "PARAM_RE", "PYWARNING_RE", "sniff_log", "traceback_task", "to_float",
           "as_logged", "starts_a_run"]

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
    drizzlepac's logging wrapper reports an unhandled exception after that line: that
    report (its "An unhandled exception ocurred" line and traceback) belongs to the run
    it ends, also when other lines come between (AstroDrizzle's forked workers go on
    writing after the trailer), until the next run starts. Any other line outside a run
    (a notebook's logger writing on after the trailer, a worker's output) belongs to no
    run.
    """

    def __init__(self):
        self.spans: list[list[int | None]] = []  # [first line, trailer line or None]
        self.open = False
        self.banner = False  # the open run has logged its version banner
        self.ended = False  # after a trailer line, before the next run starts
        self.grace = False  # in the ended run's unhandled-exception report

    def see(self, lineno: int, level: str | None, message: str) -> None:
        """Track one line (``level`` None: a continuation line)."""
        if level is None:
            return
        body = message.strip()
        # (a console shows the report's line without its ERROR level)
        unhandled = "unhandled exception" in body.lower()
        self.grace = self.ended and unhandled
        if _SETUP_RE.search(body) or (_BANNER_RE.search(body) and (
                not self.open or self.banner)):
            self.spans.append([lineno, None])
            self.open, self.banner, self.grace, self.ended = True, False, False, False
        if _BANNER_RE.search(body):
            self.banner = True
        if self.open and _TRAILER_RE.search(body):
            self.spans[-1][1] = lineno
            self.open, self.ended = False, True

    def start(self, lineno: int) -> None:
        """Open a run at ``lineno`` (a capture that begins inside a run: its start is cut)."""
        self.spans.append([lineno, None])
        self.open, self.banner, self.grace = True, False, False

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
# drizzlepac's report of an unhandled exception, printed without its ERROR level
_CONSOLE_ERROR_RE = re.compile(r"^An unhandled exception occ?urr?ed")
# Python logging's default console format (logging.basicConfig: "%(levelname)s:%(name)s:
# %(message)s"): a notebook that configures the root logger shows each drizzlepac line
# twice, once printed and once as e.g. "INFO:drizzlepac.tweakreg:Performing fit for: ..."
_PYLOG_RE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):([A-Za-z_][\w.]*):(.*)$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours of IPython tracebacks
# IPython's traceback header: "KeyError      Traceback (most recent call last)"
_IPYTHON_TB_RE = re.compile(r"^([A-Za-z_][\w.]*)\s+Traceback \(most recent call last\)")
TRACEBACK = "Traceback (most recent call last):"
# Unindented lines inside a chained Python 3 traceback (and around them, blank lines)
_CHAIN_RE = re.compile(r"^(?:During handling of the above exception, another exception "
                       r"occurred:|The above exception was the direct cause of the "
                       r"following exception:)\s*$")


def _chained(lines: list[str | None], i: int) -> bool:
    """Whether the traceback that ended at line ``i`` goes on (a chained exception)."""
    for line in lines[i + 1:i + 4]:
        if line and line.strip():
            return bool(_CHAIN_RE.match(line.strip()))
    return False


def _without_doubles(lines: list[str]) -> list[str | None]:
    """The console lines with Python logging's copies read as logger lines.

    Each line that also appears as ``LEVEL:logger.name:message`` is kept once: the
    logging copy (it carries the level) becomes ``[LEVEL   ] message`` and the printed
    copy None (an empty line in the end, so that line numbers stay those of the file).
    Lines only printed (a traceback, a notebook's own output) are kept.
    """
    logged: Counter = Counter()
    out: list[str | None] = list(lines)
    for i, line in enumerate(lines):
        if m := _PYLOG_RE.match(line):
            out[i] = f"[{m.group(1):<8s}] {m.group(3)}"
            logged[m.group(3).strip()] += 1  # blank ones too: a blank ends a list
    for i, line in enumerate(lines):
        text = line.strip()
        if not _PYLOG_RE.match(line) and logged[text] > 0:
            logged[text] -= 1
            out[i] = None
    return out


def as_logged(lines: list[str]) -> tuple[list[str], bool]:
    """The lines as the trailer file has them, and whether they were a console capture.

    A console capture of TweakReg's or AstroDrizzle's output (what a notebook cell or a
    terminal shows) has no ``[INFO    ]`` logger prefixes: each of its lines gets one
    (``[WARNING ]``/``[ERROR   ]`` for lines that start with that word), so that it
    is read like the trailer file. Where Python logging printed every line a second time
    (``INFO:drizzlepac.tweakreg:...``), each line counts once. Tracebacks keep no prefix:
    Python 2 and 3 ones (chained ones as one), and IPython's (``KeyError   Traceback
    (most recent call last)`` ... ``KeyError: ...``), whose header becomes Python's.
    """
    if any(PREFIX_RE.match(line) for line in lines):
        return lines, False
    lines = [_ANSI_RE.sub("", line) for line in lines]
    doubled = any(_PYLOG_RE.match(line) for line in lines)
    kept = _without_doubles(lines) if doubled else lines
    out: list[str] = []
    in_traceback, ipython = False, None
    for i, line in enumerate(kept):
        if line is None:  # the printed copy of a logged line
            out.append("")
            continue
        if doubled and PREFIX_RE.match(line):  # the logging copy
            out.append(line)
            continue
        if m := _IPYTHON_TB_RE.match(line):
            in_traceback, ipython = True, m.group(1)
            out.append(f"{TRACEBACK} {ipython}")
            continue
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback and ipython is not None:
            if line == ipython or line.startswith(ipython + ":"):
                in_traceback, ipython = False, None  # "KeyError: ...": the last line
            out.append(line)
            continue
        elif in_traceback and line.strip() and not line.startswith((" ", "\t")) and \
                not _CHAIN_RE.match(line.strip()):
            in_traceback = _chained(kept, i)
            out.append(line)  # "KeyError: ...": the traceback's last line
            continue
        if in_traceback:
            out.append(line)
            continue
        m = _CONSOLE_LEVEL_RE.match(line)
        level = m.group(1) if m else ("ERROR" if _CONSOLE_ERROR_RE.match(line) else "INFO")
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
    """Turns ``[ERROR] An unhandled exception ...`` + traceback into one fail line.

    The summary is the traceback's last unindented line (``KeyError: ...``; of a chained
    traceback, the last exception's). A traceback right after drizzlepac's boxed
    "encountered a problem" banner is that failure's: its summary joins the banner's line
    instead of counting as a second failure.
    """

    def __init__(self, notes: Notes):
        self.notes = notes
        self.pending = None

    def _banner(self, run: int):
        """The banner note the next traceback belongs to, if the last note is one."""
        last = self.notes.items[-1] if self.notes.items else None
        if last is not None and last["kind"] == "terminated" and last["run"] == run \
                and not last.get("summary"):
            return last
        return None

    def error(self, lineno: int, text: str, run: int) -> None:
        kind = "exception" if "exception" in text.lower() else "log-error"
        if kind == "exception" and (banner := self._banner(run)) is not None:
            self.pending = banner  # the banner's own exception report
            return
        self.pending = self.notes.add(lineno, "fail", kind, text or "[ERROR]",
                                      key=(lineno,), run=run)

    def continuation(self, line: str, lineno: int = 0, run: int = 0) -> None:
        if self.pending is None and line.startswith(TRACEBACK):
            # a traceback printed into the log without an [ERROR] line before it
            self.pending = self._banner(run) or self.notes.add(
                lineno, "fail", "exception", "Python traceback:", key=(lineno,), run=run)
            if self.pending is not None and (name := line[len(TRACEBACK):].strip()):
                self.pending["summary"] = name  # IPython's header names the exception
            return
        text = line.strip()
        if self.pending is not None and not line.startswith((" ", "\t")) \
                and _EXCEPTION_LINE_RE.match(text):
            # the last unindented line of a traceback is "KeyError: ..."
            self.pending["summary"] = text

    def close(self) -> None:
        if self.pending is not None and self.pending.get("summary"):
            self.pending["text"] = f"{self.pending['text']} {self.pending['summary']}"
        self.pending = None


# A traceback's last line: "KeyError: ...", "KeyboardInterrupt", "astropy.x.VerifyError: ..."
# (not IPython's arrows and source lines, nor the chained-exception sentences)
_EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(?::\s|:$|$)")
_PROBLEM_RE = re.compile(r"(\w+) Version \S+ encountered a problem!")
_TERMINATED_RE = re.compile(r"^Processing terminated at ")
_AT_TIME_RE = re.compile(r"^at \d{1,2}:\d\d:\d\d")


class Banner:
    """drizzlepac's boxed failure banner, as one fail line::

        # ERROR:                                                          #
        # AstroDrizzle Version 3.6.2 encountered a problem!               #
        # Processing terminated at 23:24:39.726 (13/09/2023).             #

    printed (a console capture) or logged at ERROR (a trailer file). The box's borders
    and its "ERROR:" line are its furniture, not failures of their own.
    """

    def __init__(self, notes: Notes):
        self.notes = notes
        self.item = None

    def see(self, lineno: int, level: str, body: str, run: int) -> bool:
        """Whether the (unboxed) line is the banner's; records it if so."""
        if _PROBLEM_RE.search(body):
            self.item = self.notes.add(lineno, "fail", "terminated", body, key=(lineno,),
                                       run=run)
            return True
        if self.item is not None and (_TERMINATED_RE.match(body) or (
                self.item["text"].endswith("Processing terminated") and
                _AT_TIME_RE.match(body))):
            # "Processing terminated at ..." on the next line, or (the box's text wrapped,
            # AstroDrizzle 2.2.6) "... Processing terminated" then "at 20:38:41.662 (...)."
            self.item["text"] = f"{self.item['text']} {body}"
            self.item = None
            return True
        if level in ("ERROR", "CRITICAL") and body in ("", "ERROR:"):
            return True  # the box's border, blank or "ERROR:" line
        return False


# A traceback frame in one of drizzlepac's modules: File ".../drizzlepac/tweakreg.py", ...
_DP_FRAME_RE = re.compile(r'^\s*File "[^"]*[/\\]drizzlepac[/\\](\w+)\.py", line \d+')
_TASKS = {"tweakreg": "tweakreg", "astrodrizzle": "astrodrizzle"}


def traceback_task(lines: list[str]) -> str | None:
    """The drizzlepac task whose code the log's tracebacks run through, or None.

    ``"tweakreg"`` when a frame is in ``drizzlepac/tweakreg.py`` and none in
    ``drizzlepac/astrodrizzle.py`` (and the reverse): a pasted crash without the task's
    banner still says which task crashed. None when no frame names one task alone.
    """
    tasks = {_TASKS[m.group(1)] for line in lines
             if (m := _DP_FRAME_RE.match(line)) and m.group(1) in _TASKS}
    return tasks.pop() if len(tasks) == 1 else None


def sniff_log(lines: list[str]) -> str | None:
    """``"tweakreg"``, ``"astrodrizzle"`` or ``None`` from the first lines of a log.

    A log without a banner is named by its tracebacks' task (:func:`traceback_task`).
    """
    for line in lines[:400]:
        if "TweakReg Version" in line:
            return "tweakreg"
        if "AstroDrizzle Version" in line or "==== Processing Step" in line:
            return "astrodrizzle"
    return traceback_task(lines[:400])



def starts_a_run(line: str) -> bool:
    """Whether a logged line opens a run (drizzlepac's "Setting up logfile" or a banner)."""
    body = split(line)[1].strip()
    return bool(_SETUP_RE.search(body) or _BANNER_RE.search(body))
