"""A real pseudo-terminal for tests: what a program writes to it is read back as a terminal receives it."""

from __future__ import annotations

import errno
import os
import select
from typing import TextIO

WAIT_SECONDS = 30.0  # a bound on each wait for output, never a pause


class Terminal:
    """``follower`` is the terminal's end a program writes to (its stderr, say); we read the other end."""

    def __init__(self) -> None:
        self.leader, self.follower = os.openpty()
        self._received = b""
        self._streams: list[TextIO] = []

    def stream(self) -> TextIO:
        """A text stream on the terminal, as sys.stderr is in a terminal."""
        stream = os.fdopen(os.dup(self.follower), "w", buffering=1)
        self._streams.append(stream)
        return stream

    def lines(self, count: int) -> list[str]:
        """The first ``count`` lines written, waiting (bounded) for them to arrive."""
        while self._text().count("\n") < count:
            if not self._receive():
                break
        return self._text().splitlines()[:count]

    def everything(self) -> str:
        """All a program wrote, once every writer has closed its end (it exited)."""
        self.close_follower()
        while self._receive():
            pass
        return self._text()

    def close_follower(self) -> None:
        if self.follower >= 0:
            os.close(self.follower)
            self.follower = -1

    def close(self) -> None:
        for stream in self._streams:
            stream.close()
        self.close_follower()
        os.close(self.leader)

    def _receive(self) -> bool:
        ready, _, _ = select.select([self.leader], [], [], WAIT_SECONDS)
        if not ready:
            raise TimeoutError(f"nothing arrived on the terminal in {WAIT_SECONDS} s")
        try:
            chunk = os.read(self.leader, 65536)
        except OSError as exc:  # Linux: EIO once no process holds the terminal's other end
            if exc.errno != errno.EIO:
                raise
            return False
        self._received += chunk
        return bool(chunk)

    def _text(self) -> str:
        # A terminal turns each "\n" into "\r\n" (termios ONLCR).
        return self._received.decode().replace("\r\n", "\n")
