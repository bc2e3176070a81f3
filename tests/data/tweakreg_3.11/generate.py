"""Regenerate the drizzlepac 3.11 test products in this folder (not run by the tests).

Usage (about 2 minutes, ~1.5 GB of scratch space; nothing here needs network)::

    HOME=$(mktemp -d) python tests/data/tweakreg_3.11/generate.py SCRATCH_DIR

It writes ACS/WFC-like ``_flc`` files (the real header of
``tests/data/real/headers/sample_flc_header.fits`` with 40 gaussian stars per chip on a
50 e- sky, the same star field shifted by known pixel offsets), runs TweakReg 3.11
(``good``: rscale; ``general``: the same images with fitgeometry='general'; ``fail``: one
image of a different star field -> "Not enough matches", NaN shift-file row; one image
with 6 sources per chip -> omitted, no shift-file row) and AstroDrizzle on ``good``
(skymethod='match', build=True), then copies the small text products next to this file.
The FITS images are not kept.
"""
from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

HERE = Path(__file__).parent
TEMPLATE = Path(__file__).parents[1] / "real/headers/sample_flc_header.fits"
NX, NY = 4096, 2048
NSTARS = 40  # per chip: keeps the committed match files small
# rootname, x shift, y shift (pixels), stars per chip, star-field seed, noise seed
SETS = {
    "good": [("jtst01a1q", 0.0, 0.0, NSTARS, 1, 11), ("jtst01a2q", 2.4, -1.3, NSTARS, 1, 12),
             ("jtst01a3q", -1.7, 3.1, NSTARS, 1, 13)],
    "fail": [("jtst02b1q", 0.0, 0.0, NSTARS, 1, 21), ("jtst02b2q", 1.5, -0.8, NSTARS, 1, 22),
             ("jtst02b3q", 0.5, 0.5, NSTARS, 77, 23),  # other star field: no matches
             ("jtst02b4q", 0.5, 0.5, 6, 99, 24)],  # < minobj sources: omitted
}


def stars(shape, xs, ys, fluxes, sigma=1.0):
    img = np.zeros(shape, dtype=np.float32)
    r = 5
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    for x, y, f in zip(xs, ys, fluxes):
        ix, iy = int(round(x)), int(round(y))
        if r <= ix < shape[1] - r and r <= iy < shape[0] - r:
            psf = np.exp(-((xx - (x - ix)) ** 2 + (yy - (y - iy)) ** 2) / (2 * sigma ** 2))
            img[iy - r:iy + r + 1, ix - r:ix + r + 1] += (psf * f / psf.sum()).astype(
                np.float32)
    return img


def make(name, dx, dy, nstars, seed, noise_seed):
    rng, nrng = np.random.default_rng(seed), np.random.default_rng(noise_seed)
    out = fits.HDUList()
    with fits.open(TEMPLATE) as tpl:
        for hdu in tpl:
            h = hdu.header.copy()
            if hdu.name == "SCI":
                xs, ys = rng.uniform(20, NX - 20, nstars), rng.uniform(20, NY - 20, nstars)
                data = stars((NY, NX), xs + dx, ys + dy, 10 ** rng.uniform(3, 4.5, nstars))
                data += nrng.normal(50.0, 5.0, (NY, NX)).astype(np.float32)
            elif hdu.name == "ERR":
                data = np.full((NY, NX), 5.0, dtype=np.float32)
            elif hdu.name == "DQ":
                data = np.zeros((NY, NX), dtype=np.int16)
            elif isinstance(hdu, fits.PrimaryHDU):
                h["ROOTNAME"], h["FILENAME"] = name.split("_")[0], name
                out.append(fits.PrimaryHDU(header=h))
                continue
            elif hdu.name in ("D2IMARR", "WCSDVARR"):
                out.append(hdu.copy())
                continue
            else:  # HDRLET / WCSCORR are not needed by TweakReg
                continue
            for k in ("NAXIS1", "NAXIS2"):
                h.pop(k, None)
            out.append(fits.ImageHDU(data=data, header=h, name=hdu.name, ver=hdu.ver))
    out.writeto(name, overwrite=True, output_verify="silentfix")


def tweakreg(geometry, outshifts):
    from drizzlepac import tweakreg as tr
    tr.TweakReg(sorted(glob.glob("*_flc.fits")), updatewcs=False, updatehdr=False,
                interactive=False, searchunits="pixels", searchrad=6, conv_width=2.5,
                threshold=10, fitgeometry=geometry, minobj=15, see2dplot=False,
                residplot="No plot", shiftfile=True, outshifts=outshifts,
                runfile="tweakreg.log", writecat=True, enforce_user_order=True)


def main(scratch: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    os.environ.setdefault("jref", str(scratch / "jref") + "/")
    for name, images in SETS.items():
        work = scratch / name
        work.mkdir(parents=True, exist_ok=True)
        os.chdir(work)
        for root, dx, dy, n, seed, noise_seed in images:
            make(f"{root}_flc.fits", dx, dy, n, seed, noise_seed)
        tweakreg("rscale", f"shift_{name}.txt")
    (scratch / "general").mkdir(exist_ok=True)
    os.chdir(scratch / "general")
    for f in glob.glob(str(scratch / "good" / "*_flc.fits")):
        shutil.copy(f, ".")
    tweakreg("general", "shift_general.txt")
    from drizzlepac import astrodrizzle
    os.chdir(scratch / "good")
    astrodrizzle.AstroDrizzle(sorted(glob.glob("*_flc.fits")), output="tst",
                              runfile="astrodrizzle.log", build=True, context=True,
                              skymethod="match", updatewcs=False, clean=True, num_cores=1,
                              final_bits="", driz_sep_bits="")
    for name in ("good", "fail", "general"):
        (HERE / name).mkdir(exist_ok=True)
        for pattern in ("*.log", "shift_*.txt", "*_catalog_fit.match", "*_sky_catalog.coo"):
            for f in glob.glob(str(scratch / name / pattern)):
                if name != "general" or not f.endswith(".coo"):
                    shutil.copy(f, HERE / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
