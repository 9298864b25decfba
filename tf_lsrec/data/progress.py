"""Progress of long data-preparation steps.

``Progress(total, "writing").update(n)`` shows Keras' ``Progbar`` when ``enabled`` and stdout is
a terminal, and one summary line at the end otherwise (rows done and seconds, through the
``tf_lsrec.progress`` logger), so logs stay short. Keras is imported only for the terminal bar:
data preparation in a batch job or a benchmark must not load TensorFlow (about 0.6 GB resident).
"""

from __future__ import annotations

import sys
import time

from tf_lsrec.utils.logs import progress


class Progress:
    """``Progress(total, desc, enabled=True)``: ``update(n)`` adds ``n`` done; ``close()``
    ends the bar (or prints the summary line). Silent when ``enabled`` is false."""

    def __init__(self, total: int, desc: str, enabled: bool = True, interval: float = 0.5):
        self.total = max(int(total), 1)
        self.desc = desc
        self.enabled = enabled
        self.done = 0
        self._bar = None
        self._start = time.perf_counter()
        if not enabled:
            return
        progress(desc)
        if getattr(sys.stdout, "isatty", lambda: False)():
            import tf_keras as keras

            self._bar = keras.utils.Progbar(
                self.total, verbose=1, interval=interval, unit_name="row"
            )

    def update(self, n: int) -> None:
        self.done += int(n)
        if self._bar is not None:
            self._bar.update(min(self.done, self.total), finalize=False)

    def close(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        if self._bar is not None:
            self._bar.update(min(self.done, self.total), finalize=True)
            self._bar = None
            return
        seconds = time.perf_counter() - self._start
        progress(f"{self.desc}: {self.done:,} / {self.total:,} rows in {seconds:.1f} s")
