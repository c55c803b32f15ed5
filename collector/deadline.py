"""How much time the run has left: a Lambda's remaining time, or unbounded for the CLI."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class Deadline:
    def __init__(self, seconds: float | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = math.inf if seconds is None else clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    def near(self, margin: float) -> bool:
        """True when less than ``margin`` seconds remain: stop starting new work."""
        return self.remaining() < margin
