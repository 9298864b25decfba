"""A tiny progress printer (no dependency): one line to stderr at most every ``interval`` s."""

from __future__ import annotations

import sys
import time


class Progress:
    """``Progress(total, "writing").update(n)``; prints ``desc: done/total (pct) elapsed``.

    Silent when ``enabled`` is false. ``close()`` prints the final line if anything was shown.
    """

    def __init__(self, total: int, desc: str, enabled: bool = True, interval: float = 2.0):
        self.total = max(int(total), 1)
        self.desc = desc
        self.enabled = enabled
        self.interval = interval
        self.done = 0
        self._start = time.monotonic()
        self._last = self._start
        self._shown = False

    def update(self, n: int) -> None:
        self.done += int(n)
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._print(now)

    def _print(self, now: float) -> None:
        pct = 100.0 * self.done / self.total
        sys.stderr.write(
            f"{self.desc}: {self.done}/{self.total} ({pct:.1f}%) {now - self._start:.1f}s\n"
        )
        sys.stderr.flush()
        self._last = now
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self._print(time.monotonic())
