"""The MAST source, driven through the real astroquery client against a loopback server.

Queries, product filtering, association expansion, exclusion and downloads all go through
astroquery's own request and download code; only the server is ours
(``tests/mast_server.py``, 127.0.0.1). pytest-remotedata (``remote_data_strict``) blocks
every other socket in this suite.
"""
from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from hst_align_qa.fixtures.sources.base import SourceError
from hst_align_qa.fixtures.sources.mast import DataUnavailable, MastSpec, mast_inputs, observations_client, \
    query_products

from mast_server import MastServer

NOTEBOOK = MastSpec(obs_ids=("j9irw3fwq", "j9irw4040", "j9irw5kaq"), exclude=("j9irw4b3q",),
                    proposal_id="10737", filters=("F606W",), product_type="FLC",
                    project="CALACS")
MEMBERS = ("j9irw3fwq", "j9irw4b1q", "j9irw4b3q", "j9irw5kaq")
FAST = {"attempts": 3, "backoff": 0.01}


def _flc(rootname: str) -> bytes:
    """A small FITS file with CHECKSUM/DATASUM, standing in for an FLC."""
    import io

    rng = np.random.default_rng(abs(hash(rootname)) % 2**32)
    primary = fits.PrimaryHDU()
    primary.header["ROOTNAME"] = rootname
    sci = fits.ImageHDU(rng.normal(size=(64, 64)).astype("float32"), name="SCI")
    buf = io.BytesIO()
    fits.HDUList([primary, sci]).writeto(buf, checksum=True)
    return buf.getvalue()


@pytest.fixture
def files() -> dict[str, bytes]:
    return {f"{m}_{kind}.fits": _flc(m) for m in MEMBERS for kind in ("flc", "flt")}


def _get(server, cache, remote=True, spec=NOTEBOOK):
    return mast_inputs(spec, cache, dataset="ngc104-test", remote=remote, server=server.url,
                       **FAST)


def test_query_expands_association_filters_and_excludes(files):
    with MastServer(files) as server:
        client = observations_client(server.url)
        table = query_products(NOTEBOOK, client, **FAST)
        everything = query_products(MastSpec(obs_ids=NOTEBOOK.obs_ids, product_type="FLC",
                                             project="CALACS"), client, **FAST)
        flt = query_products(MastSpec(obs_ids=("j9irw4040",), product_type="FLT"), client,
                             **FAST)
        client._session.close()
    assert list(table["productFilename"]) == [
        "j9irw3fwq_flc.fits", "j9irw4b1q_flc.fits", "j9irw5kaq_flc.fits"]
    assert dict(zip(table["member"], table["obs_id"]))["j9irw4b1q"] == "j9irw4040"
    assert list(table["size"]) == [len(files[n]) for n in table["productFilename"]]
    assert "j9irw4b3q_flc.fits" in list(everything["productFilename"])  # not excluded there
    assert len(everything) == 4
    assert list(flt["productFilename"]) == ["j9irw4b1q_flt.fits", "j9irw4b3q_flt.fits"]
    # the query went through astroquery's portal protocol: column configs, filtered
    # observations, then their products
    services = [w for m, w in server.log if m == "POST"]
    assert services[0] == "columnsconfig"
    assert services.index("Mast.Caom.Filtered") < services.index("Mast.Caom.Products")


def test_download_then_second_run_makes_no_request(tmp_path, files):
    cache = tmp_path / "downloads"
    with MastServer(files) as server:
        first = _get(server, cache)
        n_requests = len(server.log)
        again_online = _get(server, cache)
        again_offline = _get(server, cache, remote=False)
        assert len(server.log) == n_requests  # everything cached: no request at all
    names = [p.name for p in first.files]
    assert names == ["j9irw3fwq_flc.fits", "j9irw4b1q_flc.fits", "j9irw5kaq_flc.fits"]
    assert server.downloads() == names  # one GET each; j9irw4b3q never fetched
    for p in first.files:
        assert p.parent == cache and p.read_bytes() == files[p.name]
    assert again_online.files == first.files == again_offline.files
    assert not list(cache.glob(".part-*"))


def test_offline_without_cache_names_missing_files_and_fetch_command(tmp_path, files):
    with MastServer(files) as server:
        with pytest.raises(DataUnavailable) as err:
            _get(server, tmp_path / "downloads", remote=False)
        assert server.log == []
    msg = str(err.value)
    assert "the members of association j9irw4040" in msg
    assert "j9irw3fwq_flc.fits" in msg and "j9irw5kaq_flc.fits" in msg
    assert "pytest qa/ --remote-data --dataset ngc104-test" in msg


@pytest.mark.parametrize("fault", ["truncate", "drop", "503", "corrupt"])
def test_interrupted_or_corrupt_download_is_fetched_again(tmp_path, files, fault):
    cache = tmp_path / "downloads"
    with MastServer(files, faults={"j9irw4b1q_flc.fits": [fault]}) as server:
        got = _get(server, cache)
    assert server.downloads("j9irw4b1q_flc.fits") == ["j9irw4b1q_flc.fits"] * 2
    path = cache / "j9irw4b1q_flc.fits"
    assert path in got.files and path.read_bytes() == files[path.name]
    assert not list(cache.glob(".part-*"))


def test_persistent_wrong_size_is_an_error_naming_the_file(tmp_path, files):
    cache = tmp_path / "downloads"
    wrong = {"j9irw5kaq_flc.fits": len(files["j9irw5kaq_flc.fits"]) + 2880}
    with MastServer(files, reported_sizes=wrong) as server:
        with pytest.raises(SourceError) as err:
            _get(server, cache)
    msg = str(err.value)
    assert "j9irw5kaq_flc.fits" in msg and "failed after 3 attempts" in msg
    assert "the archive reported" in msg
    assert not (cache / "j9irw5kaq_flc.fits").exists()  # never published
    assert len(server.downloads("j9irw5kaq_flc.fits")) == 3


def test_corrupt_cached_file_is_never_used(tmp_path, files):
    cache = tmp_path / "downloads"
    with MastServer(files) as server:
        _get(server, cache)
        victim = cache / "j9irw3fwq_flc.fits"
        data = bytearray(victim.read_bytes())
        data[-2000] ^= 0xFF  # same size, one flipped byte in the data
        victim.write_bytes(bytes(data))
        with pytest.raises(DataUnavailable) as err:  # offline: reported, not used
            _get(server, cache, remote=False)
        assert "j9irw3fwq_flc.fits (FITS checksum mismatch" in str(err.value)
        before = len(server.downloads())
        _get(server, cache)  # online: fetched again
        assert server.downloads()[before:] == ["j9irw3fwq_flc.fits"]
    assert victim.read_bytes() == files[victim.name]


def test_archive_errors_are_clear(tmp_path, files):
    cache = tmp_path / "downloads"
    with MastServer(files, query_faults=[503, 503]) as server:  # transient, then fine
        got = _get(server, cache)
        assert len(got.files) == 3
    with MastServer(files, query_faults=[403]) as server:
        with pytest.raises(SourceError, match=r"MAST query .*answered 403"):
            _get(server, tmp_path / "d2")
    with MastServer(files) as server:
        with pytest.raises(SourceError, match="MAST has no observations for obs_id j9zzz1abq"):
            _get(server, tmp_path / "d3", spec=MastSpec(obs_ids=("j9zzz1abq",)))
        with pytest.raises(SourceError, match="MAST lists no DRZ products"):
            _get(server, tmp_path / "d4", spec=MastSpec(obs_ids=("j9irw3fwq",),
                                                        product_type="DRZ"))
    del files["j9irw5kaq_flc.fits"]  # listed, but the archive answers 404
    with MastServer(files) as server:
        with pytest.raises(SourceError, match="j9irw5kaq_flc.fits: the archive refused"):
            _get(server, tmp_path / "d5")
        # HEAD answered 404: refused at once, not retried, nothing published
        assert [m for m, w in server.log if w == "j9irw5kaq_flc.fits"] == ["HEAD"]
        assert not (tmp_path / "d5" / "j9irw5kaq_flc.fits").exists()


@pytest.mark.parametrize("bad", ["../etc/x", "j9irw;rm -", "J9IRW3FW", "$(id)abcd"])
def test_unsafe_obs_ids_are_refused(bad):
    with pytest.raises(SourceError, match="invalid HST dataset name"):
        MastSpec.from_manifest({"obs_ids": [bad]})


def test_partial_files_are_never_used(tmp_path, files):
    """A truncated copy under the final name and a killed download's temporary file."""
    cache = tmp_path / "downloads"
    with MastServer(files) as server:
        _get(server, cache)
        victim = cache / "j9irw5kaq_flc.fits"
        victim.write_bytes(files[victim.name][:5000])
        stale = cache / ".part-99999-j9irw5kaq_flc.fits"
        stale.write_bytes(files[victim.name][:3000])
        with pytest.raises(DataUnavailable, match=r"j9irw5kaq_flc.fits \(size 5000 bytes, "
                                                  r"the archive reported \d+\)"):
            _get(server, cache, remote=False)
        assert not victim.exists()  # the bad copy is gone, not kept for later
        _get(server, cache)
    assert victim.read_bytes() == files[victim.name]
    assert not stale.exists()


def test_two_processes_download_a_file_once(tmp_path, files):
    """Concurrent runs sharing the cache: the per-name lock makes the second one wait
    and reuse the first one's verified copy."""
    import multiprocessing

    cache = tmp_path / "downloads"
    with MastServer(files) as server:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_child_fetch, args=(server.url, str(cache)))
                 for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0]
        for name in ("j9irw3fwq_flc.fits", "j9irw4b1q_flc.fits", "j9irw5kaq_flc.fits"):
            assert server.downloads(name) == [name]  # fetched once between them
            assert (cache / name).read_bytes() == files[name]


def _child_fetch(url: str, cache: str) -> None:
    from pathlib import Path

    mast_inputs(NOTEBOOK, Path(cache), dataset="ngc104-test", remote=True, server=url,
                **FAST)
