"""Produce an iterator's next items in a helper thread while the consumer works on the current one."""

from __future__ import annotations

import contextvars
import queue
import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """``with Prefetch(make_iterator, depth) as items: for item in items: ...``

    The iterator is created and consumed in its own thread (so a thread-local GitHub client belongs
    to that thread), at most ``depth`` items ahead. Its exception is raised in the consumer. Leaving
    the block early stops the producer before its next item.
    """

    def __init__(self, make_iterator: Callable[[], Iterator[T]], depth: int = 2) -> None:
        self._make = make_iterator
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._produce,), daemon=True)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._consume()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self._thread.join()

    def _produce(self) -> None:
        try:
            for item in self._make():
                if not self._put(item):
                    return
        except BaseException as exc:
            self._put(exc)
            return
        self._put(_DONE)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _consume(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
