"""LightGCN side by side with Microsoft Recommenders' on the same ml-100k split.

    python tools/bench.py lightgcn-parity --epochs 5 --out docs/results/parity/lightgcn.json

One split for both: the prepared ml-100k files of ``hparams/lightgcn.yaml`` (leave-last-two).
The training graph is our ``read_graph`` of the training file (positive lines: targets and
histories), written as ``userID,itemID,rating`` for Microsoft; the test set is the positive
line of each test group. Both models get the same settings (``hparams/lightgcn.yaml``:
embed_size 64, n_layers 3, batch 1024 users, decay 1e-4, lr 0.005, seed 42; ``--epochs``).

* ours trains in this process (``LightGCNModel.fit``; its per-epoch validation is part of its
  fit time), then ``run_eval`` on the 1+N test file and ``recommend_k_items`` (top ``k``,
  training items removed) for every test user, written to a CSV;
* Microsoft's ``LightGCN`` + ``ImplicitCF`` train in ``--ms-python`` (a subprocess; never
  imported here): its own ``run_eval`` (map / ndcg / precision / recall @ k), the same four
  functions (``recommenders.evaluation.python_evaluation``) on **our** top-k CSV, and its
  scores of the 1+N test lines, which this script evaluates with our ``run_eval`` metrics.

Prints and writes one JSON with both models' numbers, the settings, the timings and the git
commit. A short run (a few epochs) compares the two implementations, not converged models.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MS_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
import tensorflow as tf
tf.get_logger().setLevel("ERROR")
from recommenders.models.deeprec.DataModel.ImplicitCF import ImplicitCF
from recommenders.models.deeprec.deeprec_utils import create_hparams
from recommenders.models.deeprec.models.graphrec.lightgcn import LightGCN
from recommenders.evaluation.python_evaluation import map_at_k, ndcg_at_k, precision_at_k, recall_at_k

a = json.load(open(sys.argv[1]))
read = lambda p: pd.read_csv(p, dtype={"userID": str, "itemID": str, "rating": float})
train, test = read(a["train_csv"]), read(a["test_csv"])
data = ImplicitCF(train=train, test=test, seed=a["seed"])
hp = create_hparams(dict(model_type="lightgcn", embed_size=a["embed_size"], n_layers=a["n_layers"],
    batch_size=a["batch_size"], decay=a["decay"], epochs=a["epochs"], learning_rate=a["learning_rate"],
    eval_epoch=-1, top_k=a["top_k"], save_model=False, save_epoch=100,
    metrics=["map", "ndcg", "precision", "recall"], MODEL_DIR=a["workdir"]))
model = LightGCN(hp, data, seed=a["seed"])
t0 = time.time(); model.fit(); fit_s = time.time() - t0
k = a["top_k"]
own = dict(zip(["map", "ndcg", "precision", "recall"], map(float, model.run_eval())))
ours = read(a["ours_topk_csv"]).rename(columns={"rating": "prediction"})
ours["prediction"] = ours["prediction"].astype(float)
on_ours = {name: float(f(test, ours, k=k)) for name, f in
           [("map", map_at_k), ("ndcg", ndcg_at_k), ("precision", precision_at_k), ("recall", recall_at_k)]}
lines = pd.read_csv(a["pairs_csv"], dtype=str)
u = lines["userID"].map(data.user2id); i = lines["itemID"].map(data.item2id)
known = u.notna() & i.notna()
scores = np.zeros(len(lines))
uu = u[known].astype(int).values; ii = i[known].astype(int).values
table = model.score(np.unique(uu), remove_seen=False)
row = {x: r for r, x in enumerate(np.unique(uu))}
scores[known.values] = table[[row[x] for x in uu], ii]
np.save(a["ms_scores_npy"], scores)
json.dump(dict(fit_seconds=fit_s, own_eval=own, ours_topk_on_ms_eval=on_ours,
               pairs_unknown_to_ms=int((~known).sum()), tensorflow=tf.__version__,
               n_users=int(data.n_users), n_items=int(data.n_items),
               n_train=int(len(data.train))), open(a["out"], "w"), indent=1)
"""


def _write_csv(path, rows, header):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=5, help="epochs of both models (default 5)")
    p.add_argument("--yaml", default=os.path.join(ROOT, "hparams", "lightgcn.yaml"))
    p.add_argument(
        "--ms-python",
        default="/work/ms-venv/bin/python",
        help="python of a venv with Microsoft Recommenders (ms-reference)",
    )
    p.add_argument("--out", help="also write the JSON here")


def run(args: argparse.Namespace) -> dict:
    import numpy as np

    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.evaluation.metrics import evaluate
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.io import format as fmt
    from tf_lsrec.models.lightgcn import LightGCNModel

    hp = prepare_hparams(args.yaml, epochs=args.epochs, save_model=False, EARLY_STOP=0)
    paths = prepare_data(hp)
    hp = hp.replace(**paths.as_hparams(), MODEL_DIR=None)
    work = tempfile.mkdtemp(prefix="lightgcn_parity_")

    model = LightGCNModel(hp)
    graph = model.data.graph(paths.train_file)
    keys, values = model.data.lookup.user_table.export()
    user_id = {int(v): k.decode() for k, v in zip(keys.numpy(), values.numpy())}
    keys, values = model.data.lookup.item_table.export()
    item_id = {int(v): k.decode() for k, v in zip(keys.numpy(), values.numpy())}
    train_csv = os.path.join(work, "train.csv")
    _write_csv(train_csv, ((user_id[int(u)], item_id[int(i)], 1.0)
                           for u, i in zip(graph.users, graph.items)), ["userID", "itemID", "rating"])  # fmt: skip
    with open(paths.test_file, encoding="utf-8") as f:
        test_lines = [fmt.split_line(line) for line in f]
    positives = [(r[fmt.USER], r[fmt.ITEM], 1.0) for r in test_lines if r[fmt.LABEL] == "1"]
    test_csv = os.path.join(work, "test.csv")
    _write_csv(test_csv, positives, ["userID", "itemID", "rating"])
    pairs_csv = os.path.join(work, "pairs.csv")
    _write_csv(pairs_csv, ((r[fmt.USER], r[fmt.ITEM]) for r in test_lines), ["userID", "itemID"])

    t0 = time.time()
    model.fit(paths.train_file, paths.valid_file, valid_num_ngs=hp.valid_num_ngs, verbose=0)
    ours_fit = time.time() - t0
    ours_eval = model.run_eval(paths.test_file, hp.test_num_ngs)
    topk = model.recommend_k_items([u for u, _, _ in positives], top_k=hp.top_k)
    ours_topk_csv = os.path.join(work, "ours_topk.csv")
    topk.to_csv(ours_topk_csv, index=False)

    ms_args = dict(train_csv=train_csv, test_csv=test_csv, pairs_csv=pairs_csv,
                   ours_topk_csv=ours_topk_csv, ms_scores_npy=os.path.join(work, "ms_scores.npy"),
                   out=os.path.join(work, "ms.json"), workdir=os.path.join(work, "ms_model") + "/",
                   seed=hp.seed, embed_size=hp.embed_size, n_layers=hp.n_layers,
                   batch_size=hp.batch_size, decay=hp.decay, epochs=args.epochs,
                   learning_rate=hp.learning_rate, top_k=hp.top_k)  # fmt: skip
    with open(os.path.join(work, "ms_args.json"), "w") as f:
        json.dump(ms_args, f)
    with open(os.path.join(work, "ms_lightgcn.py"), "w") as f:
        f.write(MS_SCRIPT)
    from benches.vs_microsoft import _microsoft_env  # without our legacy-Keras switch

    subprocess.run([args.ms_python, os.path.join(work, "ms_lightgcn.py"),
                    os.path.join(work, "ms_args.json")], check=True, env=_microsoft_env())  # fmt: skip
    with open(ms_args["out"]) as f:
        ms = json.load(f)
    # Microsoft's scores of the 1+N test lines, through our run_eval metrics
    labels = np.array([float(r[fmt.LABEL]) for r in test_lines])
    users = model.data.lookup.users(np.array([r[fmt.USER] for r in test_lines], object)).numpy()
    ms_scores = 1.0 / (1.0 + np.exp(-np.load(ms_args["ms_scores_npy"])))
    ms_on_ours = evaluate(labels, ms_scores, users, hp, hp.test_num_ngs)

    # Microsoft's metrics of our top-k, computed by Microsoft's functions (ms subprocess)
    k = hp.top_k
    result = {
        "what": "LightGCN, ours vs Microsoft Recommenders 1.2.1, same ml-100k split and settings",
        "epochs": args.epochs,
        "settings": {key: hp.get(key) for key in ("embed_size", "n_layers", "batch_size",
                                                   "decay", "learning_rate", "top_k", "seed")},
        "data": {"train_edges": graph.n_edges, "test_users": len(positives),
                 "test_file": paths.test_file, "test_num_ngs": hp.test_num_ngs},
        f"microsoft_eval_at_{k}": {"microsoft": ms["own_eval"],
                                   "ours": ms["ours_topk_on_ms_eval"]},
        f"run_eval_1+{hp.test_num_ngs}": {"microsoft": ms_on_ours, "ours": ours_eval},
        "fit_seconds": {"microsoft": ms["fit_seconds"], "ours_with_validation": ours_fit},
        "microsoft_data": {k2: ms[k2] for k2 in ("n_users", "n_items", "n_train",
                                                  "pairs_unknown_to_ms")},
        "tensorflow": {"microsoft": ms["tensorflow"]},
        "provenance": getattr(args, "provenance", None),
    }  # fmt: skip
    import tensorflow as tf

    result["tensorflow"]["ours"] = tf.__version__
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(json.dumps({"bench": "lightgcn-parity", **result}, indent=1, default=float))
            f.write("\n")
    return result
