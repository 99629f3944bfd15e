"""``FairLock``: a lock granted in the order it was asked for. A large batch releases the model between
chunks and asks again at once; with ``threading.Lock`` it usually wins that race and a waiting client
starves, with a ticket lock the waiting client is served first.
"""
from __future__ import annotations

import threading


class FairLock:
    """A FIFO (ticket) lock, used as a context manager."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._issued = 0  # tickets handed out
        self._serving = 0  # the ticket that holds the lock

    @property
    def waiting(self) -> int:
        """Threads queued for the lock (not counting its holder)."""
        with self._cond:
            return max(self._issued - self._serving - 1, 0)

    def __enter__(self):
        with self._cond:
            ticket = self._issued
            self._issued += 1
            self._cond.wait_for(lambda: self._serving == ticket)
        return self

    def __exit__(self, *exc):
        with self._cond:
            self._serving += 1
            self._cond.notify_all()
