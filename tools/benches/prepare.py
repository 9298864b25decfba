"""Data preparation at scale: interactions/s and peak RSS of log -> 8-column files + vocabs.

Generates ``--interactions`` planted synthetic rows into a Parquet file (streamed, bounded
memory), then prepares them with ``--engine duckdb`` (``prepare_out_of_core``) or ``memory``
(``read_interactions`` + ``write_sequential_files``), each step in its own subprocess so the
reported peak RSS is that step's alone. The prepared files are deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from benches.steps import peak_rss_mib, run_step


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interactions", type=int, default=1_000_000)
    p.add_argument("--engine", choices=("duckdb", "memory"), default="duckdb")
    p.add_argument("--max-history", type=int, default=50,
                   help="history kept per line (0 = all; CLSR's Taobao max_seq_length is 50)")  # fmt: skip
    p.add_argument("--valid-ngs", type=int, default=4)
    p.add_argument("--test-ngs", type=int, default=9)
    p.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit")
    p.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = all cores)")
    p.add_argument("--work-dir", help="where the log and the output go (default: a temp dir)")
    p.add_argument("--input", help="an existing log (CSV/TSV/Parquet) instead of generating one")
    p.add_argument("--keep", action="store_true", help="keep the generated log and the output")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-lines", action="store_true",
                   help="duckdb: sort + first pass only (vocabs, negatives), no line files")  # fmt: skip


def _du(path: str) -> int:
    total = 0
    for name in ("train_data", "valid_data", "test_data"):
        p = os.path.join(path, name)
        if os.path.exists(p):
            total += os.path.getsize(p)
    return total


def run(args: argparse.Namespace) -> dict:
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-prepare-")
    os.makedirs(work, exist_ok=True)
    try:
        log = args.input
        result: dict = {"interactions": args.interactions, "engine": args.engine}
        if log is None:
            log = os.path.join(work, "log.parquet")
            gen = run_step(__file__, ["generate", log, str(args.interactions), str(args.seed)])
            result["generate_s"] = gen["seconds"]
            result["generate_peak_rss_mib"] = gen["peak_rss_mib"]
        out = os.path.join(work, "prepared")
        prep = run_step(
            __file__,
            ["prepare", log, out, args.engine, str(args.max_history), str(args.valid_ngs),
             str(args.test_ngs), args.memory_limit, str(args.threads), str(int(args.no_lines))]
        )  # fmt: skip
        with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        n = manifest["interactions"]
        result.update(
            interactions=n,
            users=manifest["users"],
            lines=manifest["lines"],
            output_gib=round(_du(out) / 2**30, 2),
            lines_written=not args.no_lines,
            max_history=args.max_history or None,
            memory_limit=args.memory_limit if args.engine == "duckdb" else None,
            prepare_s=prep["seconds"],
            interactions_per_s=round(n / prep["seconds"], 1),
            peak_rss_mib=prep["peak_rss_mib"],
            cpu_count=os.cpu_count(),
            load_average=[round(x, 2) for x in os.getloadavg()],
            versions=prep["versions"],
        )
        return result
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif not args.keep:
            shutil.rmtree(os.path.join(work, "prepared"), ignore_errors=True)
            if not args.input:
                try:
                    os.remove(os.path.join(work, "log.parquet"))
                except OSError:
                    pass


def _main(argv: list[str]) -> dict:
    start = time.perf_counter()
    if argv[0] == "generate":
        from tf_lsrec.data.synthetic import write_synthetic_interactions

        _, path, n, seed = argv
        write_synthetic_interactions(path, int(n), seed=int(seed), progress=True)
        return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": peak_rss_mib()}
    _, log, out, engine, max_history, vngs, tngs, memory_limit, threads, no_lines = argv
    kw = dict(
        valid_num_ngs=int(vngs),
        test_num_ngs=int(tngs),
        max_history=int(max_history) or None,
        progress=True,
    )
    import numpy
    import pandas

    versions = {"numpy": numpy.__version__, "pandas": pandas.__version__}
    if engine == "duckdb":
        import duckdb

        from tf_lsrec.data.outofcore import prepare_out_of_core

        versions["duckdb"] = duckdb.__version__
        prepare_out_of_core(
            log,
            out,
            memory_limit=memory_limit,
            threads=int(threads) or None,
            write_lines=not int(no_lines),
            **kw,
        )
    else:
        from tf_lsrec.data.interactions import read_interactions
        from tf_lsrec.data.sequential import write_sequential_files

        write_sequential_files(read_interactions(log), out, **kw)
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mib": peak_rss_mib(),
        "versions": versions,
    }


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1:])))
