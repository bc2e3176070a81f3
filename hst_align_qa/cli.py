"""``hst-align-qa``: the packaged QA suite for observers who never call pytest directly.

``hst-align-qa [pytest options]`` is ``pytest --pyargs hst_align_qa.qa [pytest options]``:
every option (``--input-dir``, ``--dataset``, ``--html``, ``--qa-json``, ``-n`` ...) is
passed to pytest unchanged, and the exit status is pytest's.
"""
from __future__ import annotations

import sys
from typing import Sequence

import pytest

__all__ = ["main", "SUITE"]

SUITE = "hst_align_qa.qa"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the packaged QA suite with ``argv`` (default: the command line) passed to pytest.

    Parameters
    ----------
    argv : sequence of str, optional
        pytest arguments; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        pytest's exit status.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    return int(pytest.main(["--pyargs", SUITE, *args]))


if __name__ == "__main__":  # python -m hst_align_qa.cli
    sys.exit(main())
