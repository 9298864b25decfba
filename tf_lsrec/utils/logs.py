"""One logging setup and one verbosity switch for the whole package.

Everything ``tf_lsrec`` reports goes through :mod:`logging` under the ``tf_lsrec`` logger.
Progress messages of the training loop (Microsoft's ``step N , total_loss: ...`` lines,
``eval valid at epoch N: ...``, ``best epoch: N``) are INFO records of ``tf_lsrec.progress``,
which writes them to the current ``sys.stdout`` as Microsoft's ``print`` did (so they appear
by default); warnings of the other ``tf_lsrec`` modules propagate to the root logger as usual.

``set_verbosity("WARNING")`` (or ``logging.WARNING``, or the environment variable
``TF_LSREC_VERBOSITY``) silences the progress messages; ``"DEBUG"`` shows more.
"""

from __future__ import annotations

import logging
import os
import sys

PROGRESS = "tf_lsrec.progress"


class _CurrentStdout(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stdout`` is at emit time (pytest's capture,
    notebooks' redirection)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; always use sys.stdout
        pass


def _progress_logger() -> logging.Logger:
    logger = logging.getLogger(PROGRESS)
    if not any(isinstance(h, _CurrentStdout) for h in logger.handlers):
        handler = _CurrentStdout()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(_level(os.environ.get("TF_LSREC_VERBOSITY", "INFO")))
    return logger


def _level(level) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(str(level).upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown verbosity {level!r}; use DEBUG, INFO, WARNING or ERROR")
    return value


def set_verbosity(level) -> None:
    """Set the level of every ``tf_lsrec`` message (``"INFO"`` default: progress lines shown;
    ``"WARNING"``: only warnings and errors)."""
    value = _level(level)
    logging.getLogger("tf_lsrec").setLevel(value)
    _progress_logger().setLevel(value)


def progress(message: str, *args) -> None:
    """An INFO progress message (stdout by default)."""
    _progress_logger().info(message, *args)
    for handler in _progress_logger().handlers:
        handler.flush()
