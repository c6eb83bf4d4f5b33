"""A first-come-first-served lock that can tell a waiter how many are ahead of it.

One model answers one request at a time; users deserve to see "2 requests ahead of you"
instead of a spinner, and training steps queue on the same lock as chat.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import Cancelled


class FairLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[int] = deque()
        self._holder: int | None = None
        self._tickets = itertools.count(1)
        self.acquisitions = 0  # times the lock was taken: a holder can tell whether anyone else had it since

    def ticket(self) -> int:
        with self._cond:
            t = next(self._tickets)
            self._waiting.append(t)
            return t

    def ahead(self, ticket: int) -> int:
        """Requests that will run before `ticket`: 0 once it holds the lock."""
        with self._cond:
            if self._holder == ticket:
                return 0
            try:
                index = self._waiting.index(ticket)
            except ValueError:
                return 0
            return index + (1 if self._holder is not None else 0)

    def acquire(self, ticket: int, cancel: threading.Event | None = None) -> None:
        with self._cond:
            while self._holder is not None or self._waiting[0] != ticket:
                if cancel is not None and cancel.is_set():
                    self._waiting.remove(ticket)
                    self._cond.notify_all()
                    raise Cancelled()
                self._cond.wait(timeout=0.1)
            self._waiting.popleft()
            self._holder = ticket
            self.acquisitions += 1

    def release(self) -> None:
        with self._cond:
            self._holder = None
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._holder is not None

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._waiting)

    @contextmanager
    def hold(self, cancel: threading.Event | None = None) -> Iterator[None]:
        t = self.ticket()
        self.acquire(t, cancel)
        try:
            yield
        finally:
            self.release()
