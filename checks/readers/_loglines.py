"""Line-level helpers shared by the log readers: logger prefixes, warning boxes, notes."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..products import LogLine

__all__ = ["split", "unbox", "Notes", "Exceptions", "PARAM_RE", "PYWARNING_RE", "sniff_log",
           "to_float"]

PREFIX_RE = re.compile(r"^\[(INFO|WARNING|ERROR|DEBUG|CRITICAL)\s*\]\s?(.*)$")
BOX_RE = re.compile(r"^#\s?(.*?)\s*#$")
PARAM_RE = re.compile(r"^\t\s*(\w+)\s*:\t?(.*?)\s*$")
PYWARNING_RE = re.compile(r"\b\w*Warning:\s")


def split(line: str) -> tuple[str | None, str]:
    """``("INFO", message)`` for a logger line, ``(None, line)`` for a continuation."""
    match = PREFIX_RE.match(line)
    if not match:
        return None, line
    return match.group(1), match.group(2)


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
    items: list = field(default_factory=list)
    keys: set = field(default_factory=set)

    def add(self, line: int, level: str, kind: str, text: str, key=None, image=None, run=0):
        key = (kind, run, key if key is not None else text)
        if key in self.keys:
            return None
        self.keys.add(key)
        item = {"line": line, "level": level, "kind": kind, "text": text.strip(),
                "image": image, "run": run}
        self.items.append(item)
        return item

    def frozen(self) -> tuple[LogLine, ...]:
        return tuple(LogLine(path=self.path, line=i["line"], level=i["level"], kind=i["kind"],
                             text=" ".join(i["text"].split())) for i in self.items)


class Exceptions:
    """Turns ``[ERROR] An unhandled exception ...`` + traceback into one fail line."""

    def __init__(self, notes: Notes):
        self.notes = notes
        self.pending = None

    def error(self, lineno: int, text: str, run: int) -> None:
        kind = "exception" if "exception" in text.lower() else "log-error"
        self.pending = self.notes.add(lineno, "fail", kind, text or "[ERROR]",
                                      key=(lineno,), run=run)

    def continuation(self, line: str) -> None:
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

