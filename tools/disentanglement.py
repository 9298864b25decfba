"""Do CLSR's long- and short-term interests recover the planted long- and short-term categories?

    python tools/disentanglement.py --users 3000 --epochs 5 --seeds 1 2 --out docs/results/disentanglement.json

Generates synthetic users with a planted long-term category and session-level short-term
categories (``tf_lsrec.data.synthetic``), trains CLSR on them, and for every test instance takes
the long-term interest ``I_L`` and the short-term interest ``I_S`` of the positive row. A
nearest-centroid probe (cosine, centroids fitted on half of the users, accuracy measured on the
other half) then predicts (a) the user's planted long-term category and (b) the planted
short-term category of the user's current session (the session of the last history event) from
each representation. Disentanglement, as the CLSR paper claims it, means ``I_L`` predicts (a)
better than ``I_S`` does, and ``I_S`` predicts (b) better than ``I_L`` does.
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401

# isort: on
import argparse
import json
import os
import tempfile

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="CLSR hyper-parameter override (repeatable)")
    p.add_argument("--out", help="write the JSON result here")
    return p.parse_args(argv)


def nearest_centroid_accuracy(x: np.ndarray, y: np.ndarray, train: np.ndarray) -> float:
    """Accuracy on ``~train`` of a cosine nearest-centroid classifier fitted on ``train``.

    x: ``[N, D]`` representations; y: ``[N]`` integer labels; train: ``[N]`` bool split.
    """
    x = x - x[train].mean(axis=0)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    classes = np.unique(y[train])
    centroids = np.stack([x[train & (y == c)].mean(axis=0) for c in classes])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    pred = classes[np.argmax(x[~train] @ centroids.T, axis=1)]
    return float(np.mean(pred == y[~train]))


def planted_targets(interactions, truth) -> dict[str, tuple[str, str]]:
    """Per user: (long-term category, short-term category of the last history event's session)
    for the user's test line, whose history is every interaction but the last."""
    frame = interactions.assign(
        long=truth["long_term_category"].to_numpy(),
        short=truth["short_term_category"].to_numpy(),
        order=np.arange(len(interactions)),
    ).sort_values(["user", "timestamp", "order"], kind="stable")
    last_history = frame.groupby("user", sort=False).nth(-2)
    return dict(zip(last_history["user"], zip(last_history["long"], last_history["short"])))


def run_seed(seed: int, args) -> dict:
    from tf_lsrec.data.sequential import write_sequential_files
    from tf_lsrec.data.synthetic import generate_interactions
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.models.clsr import CLSRModel

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    interactions, truth = generate_interactions(args.users, seed=seed)
    work = tempfile.mkdtemp(prefix="disentangle-")
    paths = write_sequential_files(interactions, work, valid_num_ngs=4, test_num_ngs=9, seed=seed)
    hp = prepare_hparams(os.path.join(root, "hparams", "clsr.yaml"),
                         overrides=[f"train.epochs={args.epochs}", f"train.seed={seed}",
                                    "train.EARLY_STOP=0", *args.set],
                         MODEL_DIR=None, run_dir=work, **paths.as_hparams())
    model = CLSRModel(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    metrics = model.run_eval(hp.test_file, num_ngs=9)

    targets = planted_targets(interactions, truth)
    def step(batch):
        out = model.forward(batch, training=False)
        return {k: out[k] for k in ("long_interest", "short_interest")}

    cols = model.trainer.collect(hp.test_file, model.trainer.compiled("interests", step),
                                 batch_keys=("labels", "user_id"), raw_ids=True)
    positive = cols["labels"] == 1
    long_y, short_y = [], []
    for u in cols["user_id"][positive]:
        lt, st = targets[u.decode()]
        long_y.append(int(lt[1:]))
        short_y.append(int(st[1:]))
    i_long, i_short = cols["long_interest"][positive], cols["short_interest"][positive]
    long_y, short_y = np.array(long_y), np.array(short_y)
    train = np.random.default_rng(seed).random(len(long_y)) < 0.5
    return {
        "seed": seed,
        "test_metrics": metrics,
        "users": len(long_y),
        "chance": 1.0 / len(np.unique(long_y)),
        "I_L -> planted long-term category": nearest_centroid_accuracy(i_long, long_y, train),
        "I_S -> planted long-term category": nearest_centroid_accuracy(i_short, long_y, train),
        "I_L -> planted short-term category": nearest_centroid_accuracy(i_long, short_y, train),
        "I_S -> planted short-term category": nearest_centroid_accuracy(i_short, short_y, train),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    runs = [run_seed(s, args) for s in args.seeds]
    keys = [k for k in runs[0] if "->" in k]
    # std with ddof 1 (sample std), as tools/compare.py reports it; 0 for one seed
    summary = {k: {"mean": float(np.mean([r[k] for r in runs])),
                   "std": float(np.std([r[k] for r in runs], ddof=1)) if len(runs) > 1 else 0.0}
               for k in keys}  # fmt: skip
    result = {"command": "python tools/disentanglement.py " + " ".join(argv or []),
              "users": args.users, "epochs": args.epochs, "runs": runs, "summary": summary}
    if args.out:
        from tf_lsrec.utils.files import atomic_write_text

        atomic_write_text(args.out, json.dumps(result, indent=1))
    for k, v in summary.items():
        print(f"{k:40s} {v['mean']:.3f} ± {v['std']:.3f}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
