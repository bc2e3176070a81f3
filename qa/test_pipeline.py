"""The pipeline itself: did TweakReg and AstroDrizzle produce products at all?"""
import pytest


def test_products_available(qa_run):
    """A dataset whose inputs or pipeline failed, or one of whose products cannot be
    read, is reported here, in one line; one whose data cannot be had here (archive files not cached, no --remote-data) is skipped with
    the files it misses and the command that fetches them."""
    if qa_run.skipped is not None:
        pytest.skip(qa_run.skipped)
    assert qa_run.error is None, qa_run.error
    # a product that cannot be read fails here, naming it; the checks that need it
    # report it as an error, the others judge what could be read
    unreadable = qa_run.products.unreadable if qa_run.products is not None else {}
    assert not unreadable, "; ".join(f"cannot read {why}" for why in unreadable.values())
