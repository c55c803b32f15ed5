"""Stopping a command cleanly: SIGTERM and SIGHUP unwind like Ctrl-C, and cleanup is not itself interrupted."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) raise KeyboardInterrupt, as Ctrl-C does, so that temporary
    servers and directories are cleaned up whichever way a command is stopped."""
    if not _main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def interruptions_held() -> Iterator[None]:
    """A second Ctrl-C during cleanup waits until the cleanup is done, then acts as usual."""
    if not _main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def uninterrupted_cleanup() -> Iterator[contextlib.ExitStack]:
    """An ExitStack whose unwinding (servers stopped, folders removed) runs with interruptions held."""
    with contextlib.ExitStack() as stack:
        try:
            yield stack
        finally:
            with interruptions_held():
                stack.close()


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind ``exc``: a library's cleanup can fail on a connection that KeyboardInterrupt
    cut mid-call, and raise its own error in the interrupt's place."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
