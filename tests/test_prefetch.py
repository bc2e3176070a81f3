"""Figures drawn in the prefetch worker: the same bytes, found under the report's keys;
a figure the worker cannot draw is drawn in the pytest process instead."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from hst_align_qa.fixtures.memo import Memo
from hst_align_qa.fixtures.prefetch import FigurePrefetch
from hst_align_qa.fixtures.report import figure_specs
from hst_align_qa.fixtures.runner import judge_directory

CHECKS = ["residual_correlation", "match_counts", None]


@pytest.fixture
def run(real_data, tmp_path):
    products = tmp_path / "p"
    shutil.copytree(real_data / "tweakreg_runs" / "align_sparse_fields", products)
    return judge_directory(products)


def _specs(run):
    return [spec for check in CHECKS for spec in figure_specs(check, run.products)]


def test_worker_figures_equal_serial_ones(run, tmp_path):
    memo = Memo(tmp_path / "memo")
    prefetch = FigurePrefetch(memo)
    try:
        prefetch.load(run.directory)
        prefetch.submit(run, CHECKS)
        specs = _specs(run)
        assert len(specs) >= 4 and len(memo.pending) == len(specs)
        prefetch.wait()  # else the pytest process draws what the worker has not begun

        def not_here():
            pytest.fail("drawn in the pytest process, not taken from the worker")
        for _, what, draw in specs:
            assert memo.png(run.fingerprint, what, not_here) == draw()
        assert memo.pending == {}
    finally:
        prefetch.close()


def test_figure_the_worker_cannot_draw_is_drawn_here(run, tmp_path):
    memo = Memo(tmp_path / "memo")
    prefetch = FigurePrefetch(memo)
    try:  # the worker finds no products there: every job fails
        prefetch.submit(dataclasses.replace(run, directory=tmp_path / "gone"), CHECKS)
        _, what, draw = _specs(run)[0]
        assert memo.png(run.fingerprint, what, draw) == draw()
        assert memo.misses == 1
    finally:
        prefetch.close()


def test_figure_the_worker_has_not_started_is_drawn_here_and_not_twice(run, tmp_path):
    """The worker draws in queue order; a figure the report needs before the worker got
    to it is claimed and drawn by the pytest process, and the worker then skips it."""
    from hst_align_qa.fixtures.prefetch import claim

    memo = Memo(tmp_path / "memo")
    prefetch = FigurePrefetch(memo)
    try:
        specs = _specs(run)
        _, what, draw = specs[-1]
        key = memo.figure_key(run.fingerprint, what)
        # the worker is still starting (spawn + imports): nothing of it has begun yet
        prefetch.submit(run, CHECKS)
        drawn_here = []

        def here():
            drawn_here.append(what)
            return draw()
        assert memo.png(run.fingerprint, what, here) == draw()
        assert drawn_here == [what] and not claim(prefetch._claims, key)
        # the others come from the worker; the last one's job finds it claimed
        prefetch.wait()
        assert prefetch._jobs[-1].get() == "drawn by the pytest process"
        for _, other, _ in specs[:-1]:
            assert memo.png(run.fingerprint, other, lambda: pytest.fail("drawn here")) \
                is not None
        assert memo.pending == {}
    finally:
        prefetch.close()


def test_while_waiting_the_pytest_process_draws_from_the_back_of_the_queue(run, tmp_path):
    """Waiting for a figure the worker is drawing, the pytest process draws the last
    queued figure nobody has claimed (the worker takes them from the front)."""
    memo = Memo(tmp_path / "memo")
    prefetch = FigurePrefetch(memo)
    try:
        prefetch.submit(run, CHECKS)
        specs = _specs(run)
        last_key = memo.figure_key(run.fingerprint, specs[-1][1])
        assert prefetch._draw_one_queued()  # the worker is still starting up
        assert last_key not in memo.pending and len(memo.pending) == len(specs) - 1
        prefetch.wait()
        assert prefetch._jobs[-1].get() == "drawn by the pytest process"
        assert [job.get() for job in prefetch._jobs[:-1]] == [None] * (len(specs) - 1)
        for _, what, draw in specs:  # all in the memo now, each drawn once
            assert memo.png(run.fingerprint, what, lambda: pytest.fail("drawn twice")) \
                == draw()
        assert not prefetch._draw_one_queued()  # nothing left to take
    finally:
        prefetch.close()
