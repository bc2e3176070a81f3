"""How often TweakReg's 2-D histogram lands off the true offset, over sub-pixel offsets.

TweakReg (drizzlepac 3.11, ``use2dhist=True``) first estimates the offset between an
image's and the reference's sources from a 2-D histogram of all pairwise offsets within
``searchrad`` (1 px bins, ``imgclasses._estimate_2dhist_shift``), then matches sources
within ``tolerance`` (1 px) of that estimate; fewer than ``minobj`` matches leave the
image unfitted. This script takes the two catalogues of one products folder as TweakReg
wrote them in its reference frame (``<root>_refxy_catalog.coo``), moves the image's
sources by a 20 x 20 grid of sub-pixel offsets (optionally adding ``--extra`` unrelated
uniform sources to each catalogue, as a denser field would), runs drizzlepac's own
estimate on each and counts the estimates more than 1 px from the true offset::

    python benchmarks/tweakreg_peak.py PRODUCTS isyn01a1q_flc isyn02a1q_flc 2.606 -1.483 \\
        --searchrad 10 --extra 600

The true offset is the truth table's ``xsh ysh`` of the image (fixtures.sources.synthetic).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np


def failures(ref: np.ndarray, img: np.ndarray, true: tuple[float, float], searchrad: int,
             n: int = 20) -> list[float]:
    """Distances (px) from the true offset of the estimates that miss it by > 1 px, over
    an ``n`` x ``n`` grid of sub-pixel offsets."""
    from drizzlepac import imgclasses  # the function TweakReg itself calls

    tx, ty = true
    grid = np.linspace(-0.5, 0.5, n, endpoint=False)
    out = []
    for fy in grid:
        for fx in grid:
            q = np.array([fx - (tx - round(tx)), fy - (ty - round(ty))])
            with contextlib.redirect_stdout(io.StringIO()):
                xp, yp, *_ = imgclasses._estimate_2dhist_shift(img + q, ref,
                                                               searchrad=searchrad)
            err = float(np.hypot(xp - tx - q[0], yp - ty - q[1]))
            if err > 1.0:
                out.append(err)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("products", type=Path)
    parser.add_argument("reference", help="root of the reference catalogue (jsyn01a1q_flc)")
    parser.add_argument("image", help="root of the image's catalogue")
    parser.add_argument("xsh", type=float)
    parser.add_argument("ysh", type=float)
    parser.add_argument("--searchrad", type=int, default=10)
    parser.add_argument("--extra", type=int, default=0,
                        help="unrelated uniform sources added to each catalogue")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # drizzlepac's import-time deprecation warnings
    ref = np.loadtxt(args.products / f"{args.reference}_refxy_catalog.coo")
    img = np.loadtxt(args.products / f"{args.image}_refxy_catalog.coo")
    if args.extra:
        rng = np.random.default_rng(5)
        lo, hi = img.min(0), img.max(0)
        img = np.vstack([img, rng.uniform(lo, hi, (args.extra, 2))])
        ref = np.vstack([ref, rng.uniform(lo, hi, (args.extra, 2))])
    bad = failures(ref, img, (args.xsh, args.ysh), args.searchrad)
    print(f"{args.image} vs {args.reference} ({len(img)} and {len(ref)} sources, searchrad "
          f"{args.searchrad}): {len(bad)} of 400 sub-pixel offsets estimated > 1 px off"
          + (f" (by {min(bad):.2f}-{max(bad):.2f} px)" if bad else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
