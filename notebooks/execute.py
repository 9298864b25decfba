"""Execute a notebook top to bottom on a fresh kernel, with injected parameters.

    python notebooks/execute.py notebooks/00_quickstart.ipynb --set EPOCHS=1 --inplace
    python notebooks/execute.py notebooks/02_model_comparison.ipynb -o /tmp/out.ipynb

Each notebook takes its size from one code cell tagged ``parameters``. ``inject_parameters``
inserts, right after it, a cell tagged ``injected-parameters`` that reassigns the given names
(papermill's convention, without papermill). Only names assigned in the parameters cell may be
injected, so a misspelt name is an error instead of a silently ignored setting.

The kernel is always the Python running this script (a kernel spec written to a temporary
directory), so a notebook runs with the same installed packages as the tests.

The executed notebook's outputs are cleaned (:func:`clean_outputs`): TensorFlow's C++ start-up
log lines (CUDA probing, oneDNN and CPU-feature notices) are dropped, and this machine's paths
become repository-, ``$TMPDIR``- or ``~``-relative, so committed outputs show results, not the
machine they ran on.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
KERNEL_NAME = "tf_lsrec_python"


def parameters_cell_index(nb: nbformat.NotebookNode, path: str = "<notebook>") -> int:
    """Index of the single code cell tagged ``parameters``."""
    found = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])
    ]
    if len(found) != 1:
        raise ValueError(
            f"{path}: expected exactly one code cell tagged {PARAMETERS_TAG!r}, "
            f"found {len(found)} (cells {found})"
        )
    return found[0]


def parameter_names(source: str) -> list[str]:
    """Names assigned at top level of a parameters cell (``X = ...`` / ``X: T = ...``)."""
    names = []
    for node in ast.parse(source).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def inject_parameters(
    nb: nbformat.NotebookNode, params: Mapping[str, Any], path: str = "<notebook>"
) -> nbformat.NotebookNode:
    """Insert (or replace) the ``injected-parameters`` cell after the parameters cell.

    Values must be Python literals (``repr`` round-trips them). Raises ``KeyError`` naming the
    notebook and the allowed names for a name the parameters cell does not assign.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    idx = parameters_cell_index(nb, path)
    allowed = parameter_names(nb.cells[idx].source)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise KeyError(
            f"{path}: parameter(s) {unknown} are not assigned in the parameters cell "
            f"(cell {idx}); allowed: {allowed}"
        )
    if not params:
        return nb
    lines = ["# Parameters injected by notebooks/execute.py"]
    for name, value in params.items():
        text = repr(value)
        try:
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"{path}: parameter {name} = {text} is not a Python literal") from None
        lines.append(f"{name} = {text}")
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(idx + 1, cell)
    return nb


# TensorFlow's C++ log lines ("I0000 00:00:1795435878.682627   25360 port.cc:153] ...") and
# the other start-up notices it prints before any user code runs.
_NOISE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*"
    r"|INFO:tensorflow:Assets written to: .*)$"
)


def clean_outputs(
    nb: nbformat.NotebookNode, root: str | os.PathLike, home: str | None = None
) -> nbformat.NotebookNode:
    """Drop TensorFlow's start-up log lines from stream outputs (and streams left empty) and
    rewrite ``root`` (the repository) to relative paths, the temporary directory to ``$TMPDIR``
    and ``home`` (default ``~``) to ``~`` in stream and ``text/plain`` outputs. Returns ``nb``,
    changed in place."""
    root = os.path.abspath(os.fspath(root)).rstrip(os.sep)
    home = os.path.expanduser("~") if home is None else home
    paths = [(re.compile(re.escape(root + os.sep)), ""), (re.compile(re.escape(root) + r"\b"), ".")]
    tmp = tempfile.gettempdir().rstrip(os.sep)
    if tmp and tmp != root:
        paths.append((re.compile(re.escape(tmp + os.sep)), "$TMPDIR/"))
    if home and home != os.sep:
        paths.append((re.compile(re.escape(home.rstrip(os.sep)) + r"(?=/|\b)"), "~"))

    def scrub(text: str) -> str:
        for pattern, replacement in paths:
            text = pattern.sub(replacement, text)
        return text

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = "".join(
                    ln
                    for ln in out.text.splitlines(keepends=True)
                    if not _NOISE.match(ln.rstrip("\n"))
                )
                if not text.strip():
                    continue
                out.text = scrub(text)
            elif "text/plain" in out.get("data", {}):
                out.data["text/plain"] = scrub(out.data["text/plain"])
            kept.append(out)
        cell.outputs = kept
    return nb


def _kernel_spec_dir(root: str) -> str:
    """A kernel spec running ``sys.executable`` under ``root/kernels/KERNEL_NAME``."""
    kdir = os.path.join(root, "kernels", KERNEL_NAME)
    os.makedirs(kdir, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (tf_lsrec)",
        "language": "python",
    }
    with open(os.path.join(kdir, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f)
    return os.path.join(root, "kernels")


def execute_notebook(
    path: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
    output: str | os.PathLike | None = None,
    timeout: int = 1800,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
) -> nbformat.NotebookNode:
    """Run ``path`` with ``params`` injected; raise ``nbclient`` 's ``CellExecutionError`` on
    the first failing cell. Writes the executed notebook to ``output`` (atomically) if given.

    ``cwd`` defaults to the notebook's directory (as Jupyter does); ``env`` adds environment
    variables for the kernel. ``timeout`` is per cell, in seconds.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    path = os.fspath(path)
    nb = inject_parameters(nbformat.read(path, as_version=4), params or {}, path)
    cwd = os.fspath(cwd) if cwd else os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory(prefix="tf_lsrec_kernel_") as tmp:
        ksm = KernelSpecManager(kernel_dirs=[_kernel_spec_dir(tmp)])
        km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)
        kernel_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=False,
            kernel_name=KERNEL_NAME,
            resources={"metadata": {"path": cwd}},
        )
        client.execute(env=kernel_env)
    clean_outputs(nb, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if output is not None:
        out = os.fspath(output)
        tmp_out = f"{out}.tmp{os.getpid()}"
        nbformat.write(nb, tmp_out)
        os.replace(tmp_out, out)
    return nb


def _parse_set(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set {text!r}: expected NAME=VALUE")
    try:
        return name.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(
            f"--set {text!r}: the value is not a Python literal (quote strings: NAME='text')"
        ) from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("notebook")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        type=_parse_set,
        metavar="NAME=VALUE",
        help="inject a parameter (Python literal)",
    )
    p.add_argument("-o", "--output", help="where to write the executed notebook")
    p.add_argument("--inplace", action="store_true", help="overwrite the notebook")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = p.parse_args(argv)
    output = args.notebook if args.inplace else args.output
    execute_notebook(args.notebook, dict(args.set), output=output, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
