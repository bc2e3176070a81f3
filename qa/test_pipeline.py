"""The pipeline itself: did TweakReg and AstroDrizzle produce products at all?"""


def test_products_available(qa_run):
    """A dataset whose inputs or pipeline failed is reported here, in one line."""
    assert qa_run.error is None, qa_run.error
