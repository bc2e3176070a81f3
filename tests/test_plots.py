"""Tests of checks.plots: every figure is a valid PNG, empty/odd inputs never crash,
large images are binned, and nothing touches pyplot's global state."""
from __future__ import annotations

import base64
import io
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table
from matplotlib.image import imread

from hst_align_qa.checks import plots
from hst_align_qa.checks.plots import _matches
from hst_align_qa.checks.products import FitMatches

COLUMNS = ("x_ref y_ref x_in y_in x_fit y_fit dx dy x_ref_orig y_ref_orig x_in_orig "
           "y_in_orig ref_id in_id chip ra dec ref_source").split()
HEADER = {"xrms": 0.058, "yrms": 0.04, "xsh": -0.16, "ysh": 0.42, "xscale": 1.0,
          "yscale": 1.0, "xrot": 359.9995, "yrot": 359.9995, "rot": 359.9995, "skew": 0.0}


# ---------------------------------------------------------------------------- helpers
def make_fm(n: int = 200, *, seed: int = 0, chips: int = 2, image: str = "j8xi0xs0q_flc.fits",
            outliers: int = 0, trend: float = 0.0) -> FitMatches:
    """An in-memory FitMatches with ``n`` rows shaped like a real TweakReg match file."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2000, 2000, n)
    y = rng.uniform(-2000, 2000, n)
    dx = rng.normal(0, 0.05, n) + trend * x / 2000
    dy = rng.normal(0, 0.05, n)
    if outliers:
        dx[:outliers] = 3.0
        dy[:outliers] = -2.5
    chip = np.where(y > 0, 2, 1) if chips == 2 else np.ones(n, dtype=int)
    cols = {
        "x_ref": x, "y_ref": y, "x_in": x + 0.1, "y_in": y - 0.1,
        "x_fit": x + 2048 + dx, "y_fit": y + 1024 + dy, "dx": dx, "dy": dy,
        "x_ref_orig": x + 2048, "y_ref_orig": y + 1024, "x_in_orig": x + 2048,
        "y_in_orig": y % 2048, "ref_id": np.arange(n), "in_id": np.arange(n),
        "chip": chip.astype(int), "ra": 150.0 + x * 1e-5, "dec": 2.2 + y * 1e-5,
        "ref_source": np.array(["j8xi0xsaq_flc.fits[1]"] * n),
    }
    return FitMatches(image=image, path=f"/nowhere/{image}_catalog_fit.match",
                      header=dict(HEADER), table=Table(cols, names=COLUMNS))


def empty_fm(image: str = "empty_flc.fits") -> FitMatches:
    return FitMatches(image=image, path="/nowhere/empty.match", header=dict(HEADER),
                      table=make_fm(3).table[:0])


def decode(png: bytes) -> np.ndarray:
    """Assert ``png`` is a PNG that matplotlib can read; return its pixel array."""
    assert isinstance(png, bytes)
    assert png.startswith(plots.PNG_MAGIC)
    arr = imread(io.BytesIO(png))
    assert arr.ndim == 3 and arr.shape[0] > 0 and arr.shape[1] > 0 and arr.size > 0
    return arr


def not_blank(arr: np.ndarray) -> bool:
    """True when the picture is not one flat colour."""
    rgb = arr[..., :3]
    return float(rgb.std()) > 0.01


MESSAGE_SHAPE = (int(1.6 * plots.DEFAULT_DPI), int(5.0 * plots.DEFAULT_DPI))  # "no matches"


def is_message(arr: np.ndarray) -> bool:
    return arr.shape[:2] == MESSAGE_SHAPE


# -------------------------------------------------------------------- residual / vector
@pytest.mark.parametrize("func", [plots.residual_plot, plots.vector_plot])
class TestMatchFigures:
    def test_valid_png(self, func):
        arr = decode(func(make_fm(300)))
        assert not_blank(arr) and not is_message(arr)

    def test_empty_table_says_no_matches(self, func):
        arr = decode(func(empty_fm()))
        assert is_message(arr) and not_blank(arr)

    def test_table_without_columns(self, func):
        fm = FitMatches(image="x.fits", path="x", header={}, table=Table())
        assert is_message(decode(func(fm)))

    def test_all_rows_non_finite_says_no_matches(self, func):
        fm = make_fm(10)
        fm.table["dx"] = np.nan
        assert is_message(decode(func(fm)))

    @pytest.mark.parametrize("n", [1, 2, 7])
    def test_few_matches(self, func, n):
        assert not is_message(decode(func(make_fm(n))))

    def test_identical_residuals_and_positions(self, func):
        fm = make_fm(5)
        for name in ("x_ref", "y_ref", "dx", "dy"):
            fm.table[name] = 0.0
        decode(func(fm))

    def test_masked_values_nan_rows_missing_chip_and_header(self, func):
        fm = make_fm(50, chips=1)
        t = fm.table.copy()
        t["dx"] = MaskedColumn(t["dx"], mask=np.arange(50) % 7 == 0)
        t["dy"][3] = np.inf
        t.remove_column("chip")
        fm2 = FitMatches(image=fm.image, path=fm.path, header={}, table=t)
        decode(func(fm2))

    def test_outliers_and_trends(self, func):
        decode(func(make_fm(400, outliers=5, trend=0.2)))

    def test_deterministic(self, func):
        fm = make_fm(120)
        assert func(fm) == func(fm)

    def test_size_bounded(self, func):
        png = func(make_fm(2000))
        arr = decode(png)
        assert max(arr.shape[:2]) <= 1000
        assert len(png) < 250_000


def test_residual_plot_does_not_modify_input():
    fm = make_fm(100, outliers=3)
    before = fm.table.copy()
    plots.residual_plot(fm)
    plots.vector_plot(fm)
    assert all(np.array_equal(before[c], fm.table[c]) for c in COLUMNS)


def test_running_median_follows_trend():
    x = np.linspace(0, 100, 400)
    xm, ym = _matches._running_median(x, 0.01 * x)
    assert 3 <= xm.size <= 12
    assert np.all(np.diff(ym) > 0)
    assert _matches._running_median(x[:10], x[:10])[0].size == 0


@pytest.mark.parametrize("value,expected", [(0.037, 0.05), (0.012, 0.01), (0.2, 0.2),
                                            (0.7, 0.5), (0.0, 0.1), (float("nan"), 0.1)])
def test_nice_key_lengths(value, expected):
    assert _matches._nice(value) == pytest.approx(expected)


# ----------------------------------------------------------------- matched sources plot
def test_matched_sources_plot_valid():
    fms = [make_fm(100, seed=i, image=f"img{i}_flc.fits") for i in range(4)]
    arr = decode(plots.matched_sources_plot(fms))
    assert not_blank(arr) and not is_message(arr)


def test_matched_sources_plot_many_images_and_some_empty():
    fms = [make_fm(30, seed=i, image=f"image_with_a_long_name_{i:02d}_flc.fits")
           for i in range(30)]
    fms.insert(5, empty_fm())
    arr = decode(plots.matched_sources_plot(fms, title="custom title"))
    assert not is_message(arr)


@pytest.mark.parametrize("fms", [[], (), None])
def test_matched_sources_plot_empty(fms):
    if fms is None:
        fms = [empty_fm("a.fits"), empty_fm("b.fits")]
    assert is_message(decode(plots.matched_sources_plot(fms)))


def test_matched_sources_plot_accepts_generator():
    decode(plots.matched_sources_plot(make_fm(20, seed=i) for i in range(3)))


# -------------------------------------------------------------------------- image_png
def noisy_image(ny: int = 300, nx: int = 400, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.normal(0.0, 1.0, (ny, nx)).astype(np.float32)
    img[100:105, 200:205] += 50.0
    return img


@pytest.mark.parametrize("stretch", ["zscale", "linear"])
def test_image_png_valid(stretch):
    arr = decode(plots.image_png(noisy_image(), "drc sci", stretch=stretch))
    assert not_blank(arr)


def test_image_png_with_overlays():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 300, (40, 2))
    png = plots.image_png(noisy_image(), "with sources", sources=xy,
                          marks={"dip": (xy[:3, 0], xy[:3, 1]), "other": ([10.0], [20.0])},
                          origin=1)
    decode(png)
    png2 = plots.image_png(noisy_image(), "tuple sources", sources=(xy[:, 0], xy[:, 1]))
    decode(png2)


def test_image_png_overlay_colour_survives_palette():
    """A single source circle must keep its colour in the palette PNG."""
    png = plots.image_png(noisy_image(200, 200), "one source", sources=([100.0], [100.0]))
    rgb = (decode(png)[..., :3] * 255).round().astype(int)
    green = np.array([0x31, 0xE8, 0x31])
    assert np.any(np.all(rgb == green, axis=-1))


@pytest.mark.parametrize("data", [
    np.full((200, 300), np.nan, dtype=np.float32),
    np.full((50, 50), np.inf),
    np.full((2500, 1200), np.nan, dtype=np.float32),  # all-NaN and binned
])
def test_image_png_no_finite_pixels(data):
    arr = decode(plots.image_png(data, "all NaN"))
    assert not is_message(arr)


@pytest.mark.parametrize("data", [np.zeros((0, 0)), np.zeros((0, 10)), np.zeros((10, 0))])
def test_image_png_zero_size(data):
    assert is_message(decode(plots.image_png(data, "empty")))


@pytest.mark.parametrize("data", [
    np.full((64, 64), 3.0),                       # flat
    np.arange(100 * 80, dtype=np.int32).reshape(100, 80),
    np.ones((1, 1)),
    np.ones((1, 5000), dtype=np.float32),        # extreme aspect ratio
    (np.arange(400).reshape(20, 20) % 2).astype(bool),
    noisy_image().astype(">f4"),                  # FITS byte order
])
def test_image_png_odd_images(data):
    decode(plots.image_png(data, "odd"))


def test_image_png_partial_nan_and_readonly():
    img = noisy_image()
    img[:, :50] = np.nan
    img[10, 300] = np.inf
    img.setflags(write=False)
    decode(plots.image_png(img, "partly NaN"))
    assert np.isnan(img[0, 0])  # untouched


def test_image_png_rejects_bad_input():
    with pytest.raises(ValueError):
        plots.image_png(np.zeros(10), "1-d")
    with pytest.raises(ValueError):
        plots.image_png(np.zeros((2, 3, 4)), "3-d")
    with pytest.raises(ValueError, match="stretch"):
        plots.image_png(noisy_image(), "bad", stretch="log")
    with pytest.raises(ValueError):
        plots.image_png(noisy_image(), "bad", sources=([1.0, 2.0], [1.0]))


def test_huge_image_is_binned_and_output_bounded():
    big = np.random.default_rng(5).normal(0, 1, (4200, 4200)).astype(np.float32)
    t0 = time.perf_counter()
    png = plots.image_png(big, "huge", sources=([100.0, 4000.0], [100.0, 4000.0]))
    elapsed = time.perf_counter() - t0
    print(f"image_png 4200x4200: {elapsed:.3f} s, {len(png) / 1024:.1f} kB")
    arr = decode(png)
    assert max(arr.shape[:2]) <= 1000
    assert len(png) < 300_000
    small, factor = plots.downsample(big)
    assert max(small.shape) <= plots.MAX_SIDE and factor == 5


def test_huge_imprint_map_bounded():
    wht = np.full((4200, 4200), 1000.0, dtype=np.float32)
    wht[:, :100] = 0.0
    pos = (np.array([500.0, 2000.0, 3500.0]), np.array([500.0, 2000.0, 3500.0]))
    t0 = time.perf_counter()
    png = plots.imprint_map(wht, pos, [1.0, 0.6, 1.02], "huge wht", threshold=0.8)
    print(f"imprint_map 4200x4200: {time.perf_counter() - t0:.3f} s, {len(png) / 1024:.1f} kB")
    arr = decode(png)
    assert max(arr.shape[:2]) <= 1000
    assert len(png) < 300_000


# ------------------------------------------------------------------------- downsample
def test_downsample_block_mean_matches_reference():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (1003, 2507)).astype(np.float32)
    a[:40, :40] = np.nan  # whole blocks NaN
    a[500, 500] = np.inf  # one bad pixel inside a block
    small, f = plots.downsample(a, 500)
    assert f == 6 and small.shape == (-(-1003 // 6), -(-2507 // 6))  # ceil: edges kept
    fy, fx = 1003 // 6, 2507 // 6  # whole blocks
    b = a[: fy * f, : fx * f].astype(np.float64)
    good = np.isfinite(b)
    blocks = lambda v: v.reshape(fy, f, fx, f).sum(axis=(1, 3))  # noqa: E731
    n = blocks(good)
    ref = np.full(n.shape, np.nan)
    np.divide(blocks(np.where(good, b, 0.0)), n, out=ref, where=n > 0)
    inner = small[:fy, :fx]
    assert np.array_equal(np.isnan(ref), np.isnan(inner))
    np.testing.assert_allclose(inner, ref, rtol=0, atol=1e-5, equal_nan=True)
    assert np.isnan(small[0, 0]) and np.isfinite(small[500 // f, 500 // f])
    # the cut blocks at the top/right edge average the pixels they have
    assert small[-1, -1] == pytest.approx(a[fy * f:, fx * f:].mean(), abs=1e-5)
    assert small[-1, 10] == pytest.approx(a[fy * f:, 60:66].mean(), abs=1e-5)


@pytest.mark.parametrize("shape", [(1, 5000), (5000, 1), (3, 2999), (1001, 1001)])
def test_downsample_thin_and_odd_shapes(shape):
    a = np.ones(shape, dtype=np.float32)
    small, f = plots.downsample(a, 1000)
    assert max(small.shape) <= 1000 and min(small.shape) >= 1
    assert small.shape == tuple(-(-n // f) for n in shape)
    np.testing.assert_array_equal(small, 1.0)


def test_downsample_small_image_is_a_float_copy():
    a = np.arange(12, dtype=np.int16).reshape(3, 4)
    small, f = plots.downsample(a)
    assert f == 1 and small.dtype == np.float32 and not np.shares_memory(small, a)
    np.testing.assert_array_equal(small, a)


def test_downsample_integer_and_memmap(tmp_path):
    mm = np.memmap(tmp_path / "img.dat", dtype=">i4", mode="w+", shape=(1200, 900))
    mm[:] = np.arange(1200)[:, None]
    mm.flush()
    ro = np.memmap(tmp_path / "img.dat", dtype=">i4", mode="r", shape=(1200, 900))
    small, f = plots.downsample(ro, 600)
    assert f == 2 and small.shape == (600, 450)
    np.testing.assert_allclose(small[:, 0], np.arange(600) * 2 + 0.5)
    del ro, mm


def test_downsample_all_nan_no_warning():
    small, f = plots.downsample(np.full((3000, 10), np.nan), 1000)
    assert f == 3 and small.shape == (1000, 4) and np.all(np.isnan(small))


def test_downsample_rejects_bad_input():
    with pytest.raises(ValueError):
        plots.downsample(np.zeros(5))
    with pytest.raises(ValueError):
        plots.downsample(np.zeros((5, 5)), 0)


# ------------------------------------------------------------------------ imprint_map
def test_imprint_map_valid():
    rng = np.random.default_rng(4)
    wht = np.full((400, 500), 800.0)
    wht[:, 250:] = 1600.0
    x, y = rng.uniform(0, 500, 60), rng.uniform(0, 400, 60)
    ratios = rng.normal(1.0, 0.02, 60)
    ratios[:4] = [0.5, 0.6, np.nan, 0.85]
    arr = decode(plots.imprint_map(wht, (x, y), ratios, "imprints", threshold=0.9))
    assert not_blank(arr) and not is_message(arr)
    decode(plots.imprint_map(wht, np.column_stack([x, y]), ratios, "Nx2 positions",
                             origin=1))


def test_imprint_map_red_dips_survive_palette():
    wht = np.full((300, 300), 1000.0)
    png = plots.imprint_map(wht, ([150.0], [150.0]), [0.3], "one deep dip", threshold=0.9)
    rgb = (decode(png)[..., :3] * 255).round().astype(int)
    reddish = (rgb[..., 0] > 150) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    assert reddish.sum() > 10


@pytest.mark.parametrize("positions,ratios", [
    ((np.empty(0), np.empty(0)), np.empty(0)),
    (([1.0, 2.0], [3.0, 4.0]), [np.nan, np.nan]),
    (([np.nan], [np.nan]), [0.5]),
])
def test_imprint_map_without_usable_stars(positions, ratios):
    decode(plots.imprint_map(np.ones((100, 120)), positions, ratios, "no stars",
                             threshold=0.9))


def test_imprint_map_extreme_ratios_and_no_threshold():
    decode(plots.imprint_map(np.ones((100, 100)), ([10.0, 20.0, 30.0], [10.0, 20.0, 30.0]),
                             [0.0, 1.0, 50.0], "extreme"))
    decode(plots.imprint_map(np.ones((100, 100)), ([10.0], [10.0]), [1.0], "all one",
                             threshold=0.9))


def test_imprint_map_all_nan_and_empty_wht():
    decode(plots.imprint_map(np.full((200, 200), np.nan), ([5.0], [5.0]), [0.5], "nan wht"))
    assert is_message(decode(plots.imprint_map(np.zeros((0, 0)), ([], []), [], "empty")))


def test_imprint_map_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        plots.imprint_map(np.ones((10, 10)), ([1.0, 2.0], [1.0, 2.0]), [1.0], "bad")
    with pytest.raises(ValueError):
        plots.imprint_map(np.ones(10), ([1.0], [1.0]), [1.0], "bad")


# ----------------------------------------------------------------------- to_data_uri
def test_to_data_uri_round_trip():
    png = plots.residual_plot(make_fm(20))
    uri = plots.to_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    assert plots.to_data_uri(bytearray(png)) == uri


@pytest.mark.parametrize("bad", [b"", b"GIF89a...", b"\x89PNG"])
def test_to_data_uri_rejects_non_png(bad):
    with pytest.raises(ValueError):
        plots.to_data_uri(bad)


# -------------------------------------------------------- global state and threading
def test_no_pyplot_figures_created():
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    before = plt.get_fignums()
    plots.residual_plot(make_fm(50))
    plots.vector_plot(make_fm(50))
    plots.matched_sources_plot([make_fm(20)])
    plots.image_png(noisy_image(), "img", sources=([1.0], [1.0]))
    plots.imprint_map(np.ones((50, 50)), ([5.0], [5.0]), [0.5], "imp", threshold=0.9)
    plots.residual_plot(empty_fm())
    assert plt.get_fignums() == before == []
    assert matplotlib.get_backend() == backend


def test_import_leaves_backend_and_pyplot_alone():
    """In a fresh interpreter: importing and using checks.plots neither imports pyplot
    nor selects/changes the backend."""
    code = textwrap.dedent("""
        import sys
        import matplotlib
        rc = matplotlib.rcParams
        raw_before = dict.__getitem__(rc, "backend")
        import hst_align_qa.checks.plots as plots

        assert "matplotlib.pyplot" not in sys.modules, "import pulled in pyplot"
        assert dict.__getitem__(rc, "backend") == raw_before
        import numpy as np
        from astropy.table import Table
        from hst_align_qa.checks.products import FitMatches
        t = Table({"x_ref": [1.0, 2.0], "y_ref": [1.0, 3.0], "dx": [0.1, -0.1],
                   "dy": [0.0, 0.05], "chip": [1, 1]})
        fm = FitMatches(image="a.fits", path="a", header={}, table=t)
        plots.residual_plot(fm); plots.vector_plot(fm); plots.matched_sources_plot([fm])
        plots.image_png(np.ones((20, 20)), "x")
        plots.imprint_map(np.ones((20, 20)), ([1.0], [1.0]), [0.5], "x")
        assert "matplotlib.pyplot" not in sys.modules, "plotting pulled in pyplot"
        assert dict.__getitem__(rc, "backend") == raw_before
        print("OK", matplotlib.get_backend())
    """)
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK")


def test_thread_safe_and_deterministic():
    fms = [make_fm(150, seed=i) for i in range(4)]
    img = noisy_image()
    jobs = ([(plots.residual_plot, fm) for fm in fms] + [(plots.vector_plot, fm) for fm in fms]
            + [(lambda im: plots.image_png(im, "img"), img)] * 2)
    serial = [f(a) for f, a in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda job: job[0](job[1]), jobs))
    assert threaded == serial
