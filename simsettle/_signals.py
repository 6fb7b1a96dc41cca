"""One way to install signal handlers for a block: the main thread only, restored after.

Python runs signal handlers in the main thread, and only the main thread may install them;
elsewhere (a dask worker's task, a thread of the caller's) the block runs with the handlers as
they are.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["handling"]


@contextmanager
def handling(
    handler: Callable[[int, Any], None], signals: Sequence[signal.Signals]
) -> Iterator[dict[signal.Signals, Any] | None]:
    """``handler`` for ``signals`` during the block; yields the handlers it replaced (restored
    when the block ends), or None off the main thread, where nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield previous
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
