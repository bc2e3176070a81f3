"""The QA suite users run: ``pytest qa/`` here, ``pytest --pyargs hst_align_qa.qa`` or
``hst-align-qa`` where the package is installed."""
