"""NaN-aware block averaging of large images for display."""
from __future__ import annotations

import math

import numpy as np

from ._base import MAX_SIDE


def downsample(data: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, int]:
    """Block-average a 2-D image so that its long side is at most ``max_side`` pixels.

    Non-finite pixels are ignored in each block; a block with no finite pixel is NaN
    (without a warning). Blocks at the top/right edge that are cut by the image border
    average the pixels they have.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image (any real dtype; read-only and memory-mapped arrays are fine).
    max_side : int
        Largest allowed size of the output on either axis.

    Returns
    -------
    small : numpy.ndarray
        ``float32`` image of shape ``(ceil(ny / factor), ceil(nx / factor))``; a new
        array (never a view of ``data``).
    factor : int
        Block size; output pixel ``(j, i)`` covers input pixels
        ``[j*factor:(j+1)*factor, i*factor:(i+1)*factor]``.
    """
    a = np.asarray(data)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {a.shape}")
    if max_side < 1:
        raise ValueError("max_side must be >= 1")
    ny, nx = a.shape
    factor = max(1, math.ceil(max(ny, nx) / max_side))
    if factor == 1:
        return np.array(a, dtype=np.float32), 1
    return _block_mean(a, factor), factor


def _block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    # Not astropy.nddata.block_reduce: it trims partial edge blocks, and summing its 4-D
    # reshape is slower than the strided passes below
    ny, nx = a.shape
    by, bx = -(-ny // factor), -(-nx // factor)  # ceil: partial edge blocks are kept
    # Sum every factor-th row into block rows, then every factor-th column into blocks:
    # passes over strided slices. Each slice is made native float32 once (FITS data are
    # big-endian).
    acc = np.zeros((by, nx), dtype=np.float32)
    cnt = np.zeros((by, nx), dtype=np.uint16)
    for k in range(min(factor, ny)):
        row = a[k::factor].astype(np.float32)
        good = np.isfinite(row)
        row[~good] = 0
        m = row.shape[0]
        acc[:m] += row
        cnt[:m] += good
    sums = np.zeros((by, bx), dtype=np.float32)
    counts = np.zeros((by, bx), dtype=np.uint32)
    for k in range(min(factor, nx)):
        m = acc[:, k::factor].shape[1]
        sums[:, :m] += acc[:, k::factor]
        counts[:, :m] += cnt[:, k::factor]
    small = np.full((by, bx), np.nan, dtype=np.float32)
    np.divide(sums, counts, out=small, where=counts > 0)
    return small
