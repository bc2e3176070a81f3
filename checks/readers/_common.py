"""Shared helpers of the readers: the one exception, text loading, strict numbers."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

__all__ = ["ProductReadError", "NotHSTError", "read_lines", "parse_number", "NUMBER", "NUMBER_RE",
           "readonly"]

# A number as STScI tools print it: 1, -0.5, .5, 1e-06, 6.2e+03, nan, inf (any case).
NUMBER = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[nN][aA][nN]|[iI][nN][fF](?:inity)?)"
NUMBER_RE = re.compile(rf"^{NUMBER}$")


class ProductReadError(ValueError):
    """A product file cannot be read; the message names the file and the problem in one line.

    Parameters
    ----------
    path : str or Path
        The file. Its name starts the message.
    problem : str
        What is wrong, e.g. ``"line 7: expected 7 columns, got 3"``.
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{Path(self.path).name} {self.problem}")


class NotHSTError(ProductReadError):
    """A FITS product that is not an HST imaging exposure the gate knows (ground-based,
    another instrument, a spectrum): the whole dataset is refused, in one line naming
    the file and why, rather than judged with some HST imager's levels."""


def read_lines(path: str | os.PathLike) -> list[str]:
    """Return the lines of a text product without line ends.

    Lines are split on ``\\n`` only, so line numbers match what an editor shows.
    Undecodable bytes are replaced (U+FFFD); the format parsers reject what they do not
    understand.

    Raises
    ------
    ProductReadError
        If the file cannot be opened or read.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProductReadError(path, f"cannot be read: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_number(text: str, path: str | os.PathLike, where: str) -> float:
    """Strictly parse one number (``nan`` and ``inf`` allowed) or raise ProductReadError."""
    if not NUMBER_RE.match(text):
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise ProductReadError(path, f"{where}: {shown!r} is not a number")
    return float(text)


def parse_int(text: str, path: str | os.PathLike, where: str) -> int:
    """Parse an integer column (TweakReg writes IDs with ``%d``)."""
    value = parse_number(text, path, where)
    if not math.isfinite(value) or value != int(value):
        raise ProductReadError(path, f"{where}: {text!r} is not an integer")
    return int(value)


def readonly(array):
    """Mark a numpy array read-only and return it."""
    array.flags.writeable = False
    return array
