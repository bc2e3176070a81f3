"""hst-align-qa: a pytest QA gate for aligning (TweakReg) and combining (AstroDrizzle)
multi-visit HST images.

The installed package is one namespace. Its subpackages live in the repository's
top-level folders (see ``pyproject.toml``, ``[tool.setuptools] package-dir``):

- :mod:`hst_align_qa.checks` (``checks/``): products, readers, pure checks, results;
- :mod:`hst_align_qa.fixtures` (``fixtures/``): the pytest plugin, data sources, pipeline;
- :mod:`hst_align_qa.qa` (``qa/``): the QA suite, run with
  ``pytest --pyargs hst_align_qa.qa`` or ``hst-align-qa``.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hst-align-qa")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
