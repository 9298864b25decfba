"""Microsoft's ``recommenders.utils.timer.Timer``: a context manager measuring wall time."""

from __future__ import annotations

from timeit import default_timer


class Timer:
    """``with Timer() as t: ...; t.interval`` (seconds); or ``t.start()`` / ``t.stop()``.

    ``str(t)`` is the interval with 4 decimals, as in Microsoft Recommenders.
    """

    def __init__(self):
        self._timer = default_timer
        self._interval = 0.0
        self.running = False
        self.init = 0.0
        self.end = 0.0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *args):
        self.stop()

    def __str__(self):
        return f"{self.interval:0.4f}"

    def start(self) -> None:
        """Start the timer."""
        self.init = self._timer()
        self.running = True

    def stop(self) -> None:
        """Stop the timer and record the interval."""
        self.end = self._timer()
        try:
            self._interval = self.end - self.init
            self.running = False
        except AttributeError as e:
            raise ValueError(
                "Timer has not been initialized: use start() or the context manager"
            ) from e

    @property
    def interval(self) -> float:
        """Seconds between ``start`` and ``stop`` (error while the timer is running)."""
        if self.running:
            raise ValueError("Timer is still running: call stop() first")
        return self._interval
