"""fp32 GEMM throughput of ``tf.matmul`` on this machine: the peak the models are compared to.

Times ``tf.matmul`` of ``[m, k] x [k, n]`` float32 matrices inside a ``tf.function`` (the
result reduced to a scalar so that only the GEMM dominates) at a few sizes, square ones and
the shapes that occur in the sequential models (``rows x 80 x 160`` ...), best of
``--repeats`` after a warm-up. ``2 m n k`` FLOPs per product. The JSON's ``peak_gflops`` is
the best size, the reference for the models' achieved GFLOP/s.
"""

from __future__ import annotations

import argparse
import os
import time

DEFAULT_SIZES = (
    "256x256x256,512x512x512,1024x1024x1024,2048x2048x2048,2000x80x160,2000x82x160,100000x40x80"  # noqa: E501
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated MxKxN")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--min-seconds", type=float, default=0.2, help="per timed repeat")
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0 = TF)")


def _time_matmul(tf, m: int, k: int, n: int, dtype, repeats: int, min_s: float) -> float:
    a = tf.random.normal([m, k], dtype=tf.float32)
    b = tf.random.normal([k, n], dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    flops = 2.0 * m * n * k
    inner = max(1, int(min_s * 5e9 / flops))  # a first guess at 5 GFLOP/s, refined below

    @tf.function
    def run(a, b, times):
        acc = tf.constant(0.0, tf.float32)
        for _ in tf.range(times):
            acc += tf.cast(tf.reduce_sum(tf.matmul(a, b)[:1, :1]), tf.float32)
        return acc

    run(a, b, tf.constant(1)).numpy()
    start = time.perf_counter()
    run(a, b, tf.constant(inner)).numpy()
    per = (time.perf_counter() - start) / inner
    inner = max(1, int(min_s / max(per, 1e-9)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(a, b, tf.constant(inner)).numpy()
        best = min(best, (time.perf_counter() - start) / inner)
    return flops / best / 1e9


def run(args) -> dict:
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    dtype = tf.as_dtype(args.dtype)
    results = []
    for size in args.sizes.split(","):
        m, k, n = (int(x) for x in size.lower().split("x"))
        gflops = _time_matmul(tf, m, k, n, dtype, args.repeats, args.min_seconds)
        results.append({"m": m, "k": k, "n": n, "gflops": round(gflops, 2)})
    return {
        "dtype": args.dtype,
        "sizes": results,
        "peak_gflops": max(r["gflops"] for r in results),
        "how": "best of repeats of tf.matmul inside a tf.function loop; 2*m*n*k FLOPs",
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
    }
