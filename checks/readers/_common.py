"""Shared helpers of the readers: the one exception, text loading, strict numbers."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

__all__ = ["ProductReadError", "NotHSTError", "read_lines", "parse_number", "NUMBER", "NUMBER_RE",
           "readonly", "wrap_angle", "wrap_rotation"]

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


def wrap_angle(degrees: float) -> float:
    """An angle in degrees wrapped to (-180, 180] (NaN stays NaN).

    TweakReg prints angles in [0, 360) or as they come out of its arithmetic: one
    solution's rotation may read 360.000 in one file and 0.000 in another, a skew
    -359.994 for +0.006. Every reader wraps, so that no consumer compares 359.99 with a
    level meant for 0.01.
    """
    if not math.isfinite(degrees):
        return degrees
    wrapped = math.fmod(degrees, 360.0)
    if wrapped <= -180.0:
        wrapped += 360.0
    elif wrapped > 180.0:
        wrapped -= 360.0
    return wrapped + 0.0  # no -0.0


def wrap_rotation(rot: float, skew: float, xrot: float = math.nan,
                  yrot: float = math.nan) -> tuple[float, float]:
    """``(<rotation>, skew)`` of a general fit, recomputed from wrapped axis rotations.

    TweakReg reports ``<rotation>`` as the mean of the X and Y axis rotations and the
    skew as their difference, both from unwrapped angles: an identity fit with ROT_X 0 and
    ROT_Y 360 reads ``<rotation> and skew: 180 -360``. Wrapping each number alone would
    keep the false 180; the axis rotations are wrapped first (given, or recovered as
    ``rot -/+ skew/2``) and the mean and difference taken of those.
    """
    if not (math.isfinite(xrot) and math.isfinite(yrot)):
        if not (math.isfinite(rot) and math.isfinite(skew)):
            return wrap_angle(rot), wrap_angle(skew)
        # TweakReg: <rotation> = (ROT_X + ROT_Y) / 2, skew = ROT_Y - ROT_X
        xrot, yrot = rot - skew / 2.0, rot + skew / 2.0
    x, y = wrap_angle(xrot), wrap_angle(yrot)
    skew = wrap_angle(y - x)
    return wrap_angle(x + skew / 2.0), skew
