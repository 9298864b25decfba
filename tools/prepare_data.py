"""Prepare a dataset into the 8-column sequential files + vocab pickles.

Examples:
    python tools/prepare_data.py --dataset ml-100k
    python tools/prepare_data.py --dataset synthetic --interactions 1000000 --out /tmp/syn
    python tools/prepare_data.py --input log.csv --user-col uid --item-col iid \
        --category-col cat --time-col ts --out /tmp/mine
    python tools/prepare_data.py --input big.parquet --engine duckdb --out /tmp/big
    python tools/prepare_data.py --dataset taobao --raw UserBehavior.csv --out /tmp/taobao
    python tools/prepare_data.py --dataset amazon --raw reviews_Movies_and_TV_5.json \
        meta_Movies_and_TV.json --out /tmp/amazon   (docs/datasets.md lists them all)

Prints the six paths and the line count of each data file.
"""

# isort: off
import _bootstrap  # noqa: F401  (must come first: sys.path and legacy Keras)

# isort: on

import argparse
import json
import logging
import os
import sys

from tf_lsrec.data.interactions import read_interactions
from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.prepare import DATASETS, prepare_dataset
from tf_lsrec.data.prepared_set import prepared_directory
from tf_lsrec.data.public import DATASETS as PUBLIC_DATASETS
from tf_lsrec.data.public import prepare_public
from tf_lsrec.data.sequential import MANIFEST_NAME, write_sequential_files
from tf_lsrec.hparams import default_value


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    # defaults: the `data` hyper-parameters' declared defaults (tf_lsrec/hparams.py)
    p.add_argument(
        "--dataset", choices=(*DATASETS, *PUBLIC_DATASETS), default=default_value("dataset")
    )
    p.add_argument(
        "--interactions",
        type=int,
        default=default_value("synthetic_interactions"),
        help="synthetic size",
    )
    p.add_argument("--out", help="output directory (default: the cache's prepared/<name>)")
    p.add_argument("--valid-ngs", type=int, default=default_value("valid_num_ngs"))
    p.add_argument("--test-ngs", type=int, default=default_value("test_num_ngs"))
    p.add_argument("--seed", type=int, default=default_value("seed"))
    p.add_argument("--max-history", type=int, default=default_value("max_history"))
    p.add_argument("--user-default", action="store_true", help="CLSR user vocab: default_uid -> 0")
    p.add_argument("--input", help="your own interactions file (CSV / TSV / Parquet)")
    p.add_argument("--user-col", default="user")
    p.add_argument("--item-col", default="item")
    p.add_argument("--category-col", default="category")
    p.add_argument("--time-col", default="timestamp")
    p.add_argument("--sep", default=None, help="field separator (default: from the extension)")
    p.add_argument("--raw", nargs="+", help="a public dataset's files (docs/datasets.md)")
    p.add_argument("--engine", choices=("memory", "duckdb"), default="memory",
                   help="duckdb: out-of-core preparation (pip install 'tf_lsrec[scale]')")  # fmt: skip
    p.add_argument("--sample-rate", type=float, help="amazon: fraction of items kept")
    p.add_argument("--user-fraction", type=float, help="taobao: fraction of users kept")
    return p.parse_args(argv)


def count_lines(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            n += block.count(b"\n")
    return n


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.dataset in PUBLIC_DATASETS:
        if not (args.raw and args.out):
            sys.exit(f"--dataset {args.dataset} needs --raw {PUBLIC_DATASETS[args.dataset].files} "
                     f"and --out")  # fmt: skip
        extra = {k: v for k, v in (("sample_rate", args.sample_rate),
                                   ("user_fraction", args.user_fraction)) if v is not None}  # fmt: skip
        paths = prepare_public(
            args.dataset, args.raw, args.out, seed=args.seed, max_history=args.max_history,
            engine=args.engine, progress=True, **extra,
        )  # fmt: skip
    elif args.input and args.engine == "duckdb":
        from tf_lsrec.data.outofcore import prepare_out_of_core

        if not args.out:
            sys.exit("--input needs --out (where to write the prepared files)")
        cols = dict(user=args.user_col, item=args.item_col, category=args.category_col,
                    timestamp=args.time_col)  # fmt: skip
        paths = prepare_out_of_core(
            args.input, args.out, valid_num_ngs=args.valid_ngs, test_num_ngs=args.test_ngs,
            seed=args.seed, max_history=args.max_history, user_default=args.user_default,
            columns=cols, sep=args.sep, progress=True,
        )  # fmt: skip
    elif args.input:
        if not args.out:
            sys.exit("--input needs --out (where to write the prepared files)")
        df = read_interactions(
            args.input, args.user_col, args.item_col, args.category_col, args.time_col, args.sep
        )
        with prepared_directory(args.out) as tmp:  # the whole set appears in one rename
            write_sequential_files(
                df, tmp, valid_num_ngs=args.valid_ngs, test_num_ngs=args.test_ngs,
                seed=args.seed, max_history=args.max_history, user_default=args.user_default,
                progress=True,
            )  # fmt: skip
        paths = DataPaths.in_directory(args.out)
    else:
        settings = {
            "dataset": args.dataset,
            "valid_num_ngs": args.valid_ngs,
            "test_num_ngs": args.test_ngs,
            "seed": args.seed,
            "max_history": args.max_history,
            "user_default": args.user_default,
            "synthetic_interactions": args.interactions,
        }
        paths = prepare_dataset(settings, args.out, progress=True)
    for key, path in paths.as_hparams().items():
        lines = f"  ({count_lines(path)} lines)" if key.endswith("_file") else ""
        print(f"{key:11s} {path}{lines}")
    manifest = os.path.join(os.path.dirname(paths.train_file), MANIFEST_NAME)
    with open(manifest, encoding="utf-8") as f:
        print(json.dumps(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
