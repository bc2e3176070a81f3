"""The warm hint: a session that had every selected dataset's products leaves a hint, and
the next session of the same selection starts no early pipeline child while its inputs
and products are unchanged; anything else (a changed input, a lost product, another
selection, a broken hint) starts it as before."""
from __future__ import annotations

import os

import pytest

from hst_align_qa.fixtures import plugin
from hst_align_qa.fixtures.backends import LocalBackend
from hst_align_qa.fixtures.config.datasets import load_manifest
from hst_align_qa.fixtures.config.settings import resolve
from hst_align_qa.fixtures.pipeline import runner
from hst_align_qa.fixtures.stores.warm_hint import (forget_hint, products_cached,
                                                    selection_key, write_hint)
from qa_process import REPO
from test_pipeline_child import FakeChild, Started

MANIFEST = REPO / "qa" / "datasets.toml"


@pytest.fixture
def made(tmp_path):
    products = tmp_path / "products"
    products.mkdir()
    (products / "final_drc.fits").write_bytes(b"x")
    inputs = [tmp_path / f"j{i}_flc.fits" for i in range(2)]
    for p in inputs:
        p.write_bytes(b"input")
    key = selection_key(MANIFEST, ("synthetic-small",), None)
    write_hint(tmp_path / "cache", key, [(products, ["final_drc.fits"], inputs)])
    return tmp_path / "cache", key, products, inputs


def test_hint_holds_while_inputs_and_products_are_unchanged(made):
    cache, key, _, _ = made
    assert products_cached(cache, key)
    assert not products_cached(cache, selection_key(MANIFEST, ("synthetic-nan",), None))
    assert not products_cached(cache, selection_key(MANIFEST, ("synthetic-small",),
                                                    cache))  # another --input-dir


def test_changed_input_breaks_the_hint(made):
    cache, key, _, inputs = made
    st = inputs[1].stat()
    os.utime(inputs[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert not products_cached(cache, key)


def test_lost_product_breaks_the_hint(made):
    cache, key, products, _ = made
    (products / "final_drc.fits").unlink()
    assert not products_cached(cache, key)


@pytest.mark.parametrize("text", ["", "{not json", "[]", '[{"directory": 1}]'])
def test_broken_or_empty_hint_is_no_hint(made, text):
    cache, key, _, _ = made
    next((cache / "hints").iterdir()).write_text(text)
    assert not products_cached(cache, key)


def test_forgotten_hint_is_gone(made):
    cache, key, _, _ = made
    forget_hint(cache, key)
    assert not products_cached(cache, key)
    forget_hint(cache, key)  # again: nothing to remove, no error


def _config(pytester, cache):
    return pytester.parseconfig(str(plugin.QA_SUITE_DIR), "--dataset", "synthetic-small",
                                f"--qa-cache-dir={cache}")


def test_second_session_of_a_built_selection_starts_no_early_child(pytester, monkeypatch,
                                                                   tmp_path):
    cache = tmp_path / "cache"
    started = Started()
    monkeypatch.setattr(runner, "start_child", started)
    early = []
    monkeypatch.setattr(plugin, "start_child",
                        lambda matplotlib_dir=None: early.append(matplotlib_dir) or
                        FakeChild(started, matplotlib_dir))
    config = _config(pytester, cache)
    settings = resolve(config)
    manifest = load_manifest(settings.manifest)

    first = plugin._early_child(config)  # nothing cached yet: the child starts early
    assert first is not None and len(early) == 1
    backend = LocalBackend(manifest, settings, first, hint_for=("synthetic-small",))
    assert backend.run("synthetic-small").error is None
    backend.close()
    assert len(started.calls) == 1  # the early child built the products

    assert plugin._early_child(_config(pytester, cache)) is None  # warm: none started
    assert len(early) == 1

    partial = LocalBackend(manifest, settings, None, hint_for=("synthetic-small",
                                                                 "synthetic-nan"))
    partial.run("synthetic-small")
    partial.close()  # a session that did not have every dataset: the hint goes
    assert plugin._early_child(_config(pytester, cache)) is not None
    assert len(early) == 2


def test_a_session_of_part_of_the_selection_leaves_hints_alone(monkeypatch, tmp_path,
                                                               pytester):
    cache = tmp_path / "cache"
    monkeypatch.setattr(runner, "start_child", Started())
    settings = resolve(_config(pytester, cache))
    backend = LocalBackend(load_manifest(settings.manifest), settings, None)  # no hint_for
    backend.run("synthetic-small")
    backend.close()
    assert not (cache / "hints").exists()
