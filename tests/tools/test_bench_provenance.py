"""``tools/bench.py``: every bench's JSON names the commit and command that produced it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bench_json_records_commit_and_command():
    argv = ["gemm", "--sizes", "8x8x8", "--repeats", "1", "--min-seconds", "0.001"]
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "bench.py"), *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result = json.loads(out)
    head = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert result["bench"] == "gemm"
    assert result["provenance"]["git"]["commit"] == head
    assert isinstance(result["provenance"]["git"]["dirty"], bool)
    assert result["provenance"]["command"]["argv"] == argv
    assert result["provenance"]["command"]["line"].startswith("python tools/bench.py gemm --sizes")
