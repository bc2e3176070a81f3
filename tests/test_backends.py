"""The local backend's one garbage-collection policy for the pytest process: what is
alive once the checks' imports are done is frozen, once."""
from __future__ import annotations

import gc
import weakref

from hst_align_qa.fixtures.backends import _freeze_long_lived


class _Node:
    """A garbage-collected object that can reference itself."""


def test_long_lived_objects_are_frozen_once_after_the_garbage_is_collected():
    """Garbage of that moment is collected, not frozen; what is alive is frozen (later
    collections skip it); a second call (the next dataset) freezes nothing more."""
    gc.unfreeze()  # another in-process session of this test run may have frozen
    try:
        cycle = _Node()
        cycle.self = cycle
        gone = weakref.ref(cycle)
        del cycle
        kept = _Node()
        _freeze_long_lived()
        assert gone() is None
        frozen = gc.get_freeze_count()
        assert frozen > 0
        later = [_Node() for _ in range(100)]
        _freeze_long_lived()
        assert gc.get_freeze_count() == frozen
        assert kept is not None and len(later) == 100
    finally:
        gc.unfreeze()
