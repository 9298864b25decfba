"""Progress of long data-preparation steps through Keras' ``Progbar`` (no printer of our own).

``Progress(total, "writing").update(n)`` shows a bar when ``enabled`` and stdout is a terminal,
and one line at the end otherwise (``Progbar`` verbose 2), so logs stay short off a terminal.
"""

from __future__ import annotations

import sys

import tf_keras as keras

from tf_lsrec.utils.logs import progress


class Progress:
    """``Progress(total, desc, enabled=True)``: ``update(n)`` adds ``n`` done; ``close()``
    ends the bar. Silent when ``enabled`` is false."""

    def __init__(self, total: int, desc: str, enabled: bool = True, interval: float = 0.5):
        self.total = max(int(total), 1)
        self.desc = desc
        self.enabled = enabled
        self.done = 0
        self._bar = None
        if enabled:
            tty = getattr(sys.stdout, "isatty", lambda: False)()
            progress(desc)
            self._bar = keras.utils.Progbar(
                self.total, verbose=1 if tty else 2, interval=interval, unit_name="row"
            )

    def update(self, n: int) -> None:
        self.done += int(n)
        if self._bar is not None:
            self._bar.update(min(self.done, self.total), finalize=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(min(self.done, self.total), finalize=True)
            self._bar = None
