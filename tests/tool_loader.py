"""Loading a script of ``tools/`` as a module (they are not a package)."""

from __future__ import annotations

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")


def load_tool(name: str):
    """A fresh module of ``tools/<name>.py`` (``name`` may name a sub-folder, as in
    ``"benches/ms_transplant_sum"``), with ``tools/`` on the path while it is imported, for its
    ``_bootstrap`` and ``benches`` imports."""
    sys.path.insert(0, TOOLS)
    try:
        spec = importlib.util.spec_from_file_location(
            f"{name.replace('/', '_')}_tool_under_test", os.path.join(TOOLS, f"{name}.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(TOOLS)
    return module
