"""SUM parity with Microsoft Recommenders: both libraries train SUM on the same 8-column files
with the same settings; one JSON records both metric sets.

    python tools/benches/ms_parity_sum.py --ms-python /work/ms-venv/bin/python \\
        --data-dir ~/.cache/tf_lsrec/prepared/ml-100k-v4-t9-s42 --train-lines 24000 \\
        --epochs 2 --out docs/results/parity/sum.json

Settings: Microsoft's ``sum.yaml`` model values (``hparams/sum.yaml`` carries the same) with the
quick-start overrides the other parity runs use (``embed_l2 = layer_l2 = 0``, learning rate
1e-3, batch 400, 4 in-batch negatives, seed 42); validation ``group_auc`` picks the best epoch,
the test metrics are those of its checkpoint. ``--train-lines N`` trains both on the same random
``N``-line subset of the training file (written once into ``--workdir``); validation and test
files are used whole.

Microsoft's side runs in a separate process with ``--ms-python`` (this file with ``--side ms``,
which imports ``recommenders``; the library never does). Ours runs in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)

# Microsoft's sum.yaml (recommenders/models/deeprec/config/sum.yaml), model and train values.
MS_SUM_YAML = dict(
    model_type="SUM", method="classification", layer_sizes=[100, 64], activation=["relu", "relu"],
    user_dropout=True, dropout=[0.0, 0.0], item_embedding_dim=32, cate_embedding_dim=8,
    user_embedding_dim=16, slots=4, attention_size=32, cell="SUM", init_method="tnormal",
    init_value=0.01, embed_l2=0.0001, embed_l1=0.0, layer_l2=0.0001, layer_l1=0.0,
    learning_rate=0.001, loss="softmax", optimizer="adam", epochs=50, batch_size=400,
    enable_BN=True, EARLY_STOP=10, max_seq_length=50, hidden_size=40, need_sample=True,
    train_num_ngs=4, metrics=["auc", "logloss"], pairwise_metrics=["mean_mrr", "ndcg@2;4;6", "group_auc"],
)  # fmt: skip
QUICK_START = dict(embed_l2=0.0, layer_l2=0.0, learning_rate=0.001, batch_size=400, train_num_ngs=4)


def _files(args) -> dict[str, str]:
    d = os.path.expanduser(args.data_dir)
    return {
        "train": args.train_file or os.path.join(d, "train_data"),
        "valid": os.path.join(d, "valid_data"),
        "test": os.path.join(d, "test_data"),
        "user_vocab": os.path.join(d, "user_vocab.pkl"),
        "item_vocab": os.path.join(d, "item_vocab.pkl"),
        "cate_vocab": os.path.join(d, "category_vocab.pkl"),
    }


def _count(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def run_microsoft(args) -> dict:
    """Microsoft's SUM (run with the Microsoft venv's python)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    # Microsoft's sum_cells.py imports keras.layers.legacy_rnn.rnn_cell_impl, gone from the
    # Keras 2.15 that TF 2.15 needs; the same classes live in keras.src.layers.rnn.legacy_cells
    # (the mapping ms-reference/run.py makes; nothing else is patched).
    import types

    import keras.src.layers.rnn.legacy_cells as cells

    sys.modules.setdefault("keras.layers.legacy_rnn", types.ModuleType("keras.layers.legacy_rnn"))
    sys.modules["keras.layers.legacy_rnn"].rnn_cell_impl = cells
    sys.modules.setdefault("keras.layers.legacy_rnn.rnn_cell_impl", cells)
    from recommenders.models.deeprec.deeprec_utils import prepare_hparams
    from recommenders.models.deeprec.io.sequential_iterator import SequentialIterator
    from recommenders.models.deeprec.models.sequential.sum import SUMModel

    f = _files(args)
    work = os.path.join(args.workdir, "ms")
    mdir = os.path.join(work, "model") + os.sep
    values = {**MS_SUM_YAML, **QUICK_START, "epochs": args.epochs, "show_step": 100,
              "MODEL_DIR": mdir, "SUMMARIES_DIR": os.path.join(work, "summ") + os.sep,
              "write_tfevents": False, "save_model": True, "save_epoch": 1,
              "user_vocab": f["user_vocab"], "item_vocab": f["item_vocab"],
              "cate_vocab": f["cate_vocab"]}  # fmt: skip
    hp = prepare_hparams(None, **values)
    model = SUMModel(hp, SequentialIterator, seed=args.seed)
    t0 = time.time()
    model.fit(f["train"], f["valid"], valid_num_ngs=args.valid_ngs)
    fit_s = time.time() - t0
    model.load_model(os.path.join(mdir, "best_model"))
    valid = model.run_eval(f["valid"], num_ngs=args.valid_ngs)
    test = model.run_eval(f["test"], num_ngs=args.test_ngs)
    return dict(
        library="microsoft",
        recommenders_sum=True,
        tensorflow=tf.__version__,
        fit_seconds=fit_s,
        best_epoch=getattr(model, "best_epoch", None),
        valid_best_model_metrics=valid,
        test_metrics=test,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def run_ours(args) -> dict:
    """tf_lsrec's SUM with hparams/sum.yaml and the same overrides."""
    sys.path.insert(0, ROOT)
    import tensorflow as tf

    import tf_lsrec  # noqa: F401
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.models import get_model_class

    f = _files(args)
    work = os.path.join(args.workdir, "ours")
    values = {**QUICK_START, "epochs": args.epochs, "seed": args.seed,
              "MODEL_DIR": os.path.join(work, "model"), "save_model": True,
              "pairwise_metrics": MS_SUM_YAML["pairwise_metrics"], "weighted_metrics": [],
              "train_file": f["train"], "valid_file": f["valid"], "test_file": f["test"],
              "user_vocab": f["user_vocab"], "item_vocab": f["item_vocab"],
              "cate_vocab": f["cate_vocab"], "valid_num_ngs": args.valid_ngs,
              "test_num_ngs": args.test_ngs}  # fmt: skip
    hp = prepare_hparams(os.path.join(ROOT, "hparams", "sum.yaml"), **values)
    model = get_model_class("sum")(hp)
    t0 = time.time()
    model.fit(f["train"], f["valid"], valid_num_ngs=args.valid_ngs)
    fit_s = time.time() - t0
    model.load_model(os.path.join(hp.MODEL_DIR, "best_model"))
    valid = model.run_eval(f["valid"], num_ngs=args.valid_ngs)
    test = model.run_eval(f["test"], num_ngs=args.test_ngs)
    best = (
        max(model.eval_history, key=lambda e: e[1]["group_auc"])[0] if model.eval_history else None
    )
    return dict(
        library="tf_lsrec",
        tensorflow=tf.__version__,
        fit_seconds=fit_s,
        best_epoch=best,
        valid_best_model_metrics=valid,
        test_metrics=test,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _subset(args) -> None:
    """Write the ``--train-lines`` random subset of the training file (seeded) once."""
    if not args.train_lines:
        return
    full = os.path.join(os.path.expanduser(args.data_dir), "train_data")
    out = os.path.join(args.workdir, f"train_subset_{args.train_lines}_s{args.subset_seed}")
    if not os.path.exists(out):
        with open(full, encoding="utf-8") as fh:
            lines = fh.readlines()
        picked = sorted(random.Random(args.subset_seed).sample(range(len(lines)), args.train_lines))
        os.makedirs(args.workdir, exist_ok=True)
        with open(out + ".tmp", "w", encoding="utf-8") as fh:
            fh.writelines(lines[i] for i in picked)
        os.replace(out + ".tmp", out)
    args.train_file = out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--side", choices=["both", "ms", "ours"], default="both")
    p.add_argument("--ms-python", help="python of a venv with Microsoft Recommenders")
    p.add_argument("--data-dir", default="~/.cache/tf_lsrec/prepared/ml-100k-v4-t9-s42")
    p.add_argument("--train-file", help="(internal) the training file both sides read")
    p.add_argument("--train-lines", type=int, default=0, help="random training subset (0 = all)")
    p.add_argument("--subset-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--valid-ngs", type=int, default=4)
    p.add_argument("--test-ngs", type=int, default=9)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", default="/tmp/ms_parity_sum")
    p.add_argument("--out", help="JSON with both results (one side's with --side)")
    p.add_argument("--ms-json", help="reuse this --side ms result instead of running Microsoft")
    p.add_argument("--ours-json", help="reuse this --side ours result instead of running ours")
    args = p.parse_args(argv)
    if args.side == "ms":
        res = run_microsoft(args)
    elif args.side == "ours":
        res = run_ours(args)
    else:
        if not args.ms_python:
            p.error("--ms-python is required to run both sides")
        _subset(args)
        ms_out = os.path.join(args.workdir, "ms.json")
        cmd = [args.ms_python, os.path.abspath(__file__), "--side", "ms", "--out", ms_out,
               "--data-dir", args.data_dir, "--train-file", args.train_file or
               os.path.join(os.path.expanduser(args.data_dir), "train_data"),
               "--epochs", str(args.epochs), "--valid-ngs", str(args.valid_ngs),
               "--test-ngs", str(args.test_ngs), "--seed", str(args.seed),
               "--workdir", args.workdir]  # fmt: skip
        # TF 2.15 there has no tf_keras: our TF_USE_LEGACY_KERAS=1 must not reach it
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        if args.ms_json:
            ms_out = args.ms_json
        else:
            subprocess.run(cmd, check=True, env=env)
        with open(ms_out, encoding="utf-8") as fh:
            ms = json.load(fh)
        if args.ours_json:
            with open(args.ours_json, encoding="utf-8") as fh:
                ours = json.load(fh)
        else:
            ours = run_ours(args)
        f = _files(args)
        res = dict(
            model="sum", provenance=getattr(args, "provenance", None),
            epochs=args.epochs, seed=args.seed,
            train_file=f["train"], train_lines=_count(f["train"]),
            train_subset=dict(lines=args.train_lines, seed=args.subset_seed) if args.train_lines
            else None,
            valid_lines=_count(f["valid"]), test_lines=_count(f["test"]),
            settings={**{k: v for k, v in MS_SUM_YAML.items() if k != "epochs"}, **QUICK_START},
            microsoft=ms, tf_lsrec=ours,
            test_group_auc_difference=ours["test_metrics"]["group_auc"]
            - ms["test_metrics"]["group_auc"],
        )  # fmt: skip
    text = json.dumps(res, indent=1, default=float)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
