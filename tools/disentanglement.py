"""Do a model's long- and short-term vectors recover the planted long- and short-term categories?

    python tools/disentanglement.py --model clsr --users 2000 --epochs 5 --seeds 1 2 3 \\
        --out-dir docs/results/disentanglement/default
    python tools/disentanglement.py --summarize docs/results/disentanglement/default

Generates synthetic users with a planted long-term category and session-level short-term
categories (``tf_lsrec.data.synthetic``; ``--synthetic KEY=VALUE`` changes its knobs), trains
the model on them, and for every user's test line takes the long-term vector ``I_L`` and the
short-term vector ``I_S``:

* CLSR: ``long_interest`` (attention with the user query) and ``short_interest`` (attention over
  the Time4LSTM outputs with the query ``[q_S ; e_t]``);
* SLi-Rec: ``u_long`` (attention over the history) and ``u_short`` (target attention over the
  Time4LSTM outputs);
* SLSRec: ``u_long`` = ``u^L`` (Eq. 9, pooled against the target) and ``u_short`` = ``u^S``
  (Eq. 4, the current session).

A vector pooled against the target ``e_t`` is taken two ways: on the positive row (the true
next item, whose category is the long-term one half of the time: it leaks the answer) and as
the mean over the 9 negative rows (random items; the primary number). A linear probe
(``tf_lsrec.evaluation.probe``: softmax regression, fitted on a CRC32 half of the users, scored
on the other half) predicts (a) the user's planted long-term category and (b) the planted
short-term category of the session of the last history event, from each vector.

Two references use the history itself instead of a model: the same linear probe on the category
histograms of the whole history and of the current (true) session, and a counting rule (long =
the history's most frequent category, short = the current session's most frequent other one).
They bound what a representation of the history can reach on this data.
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401

# isort: on
import argparse
import glob
import json
import os

import numpy as np

YAMLS = {"clsr": "clsr.yaml", "sli_rec": "sli_rec.yaml", "slsrec": "slsrec.yaml"}
VECTORS = {  # model -> (I_L key, I_S key) in the forward outputs
    "clsr": ("long_interest", "short_interest"),
    "sli_rec": ("u_long", "u_short"),
    "slsrec": ("u_long", "u_short"),
}
TARGETS = ("long-term category", "short-term category")
TEST_NUM_NGS = 9


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", choices=sorted(YAMLS), default="clsr")
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="model hyper-parameter override (repeatable)",
    )
    p.add_argument(
        "--synthetic",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="SyntheticConfig override, e.g. mean_session_length=10 (repeatable)",
    )
    p.add_argument("--tag", default="", help="name part of the per-run JSON files")
    p.add_argument("--out-dir", help="write one JSON per (model, seed) here")
    p.add_argument(
        "--ceilings",
        metavar="FILE",
        help="train nothing: write the history references of the generator settings "
        "(--users, --seeds, --synthetic) to FILE",
    )
    p.add_argument(
        "--summarize",
        metavar="DIR",
        help="print the mean ± std table of DIR's JSON files (and write summary.json)",
    )
    return p.parse_args(argv)


def synthetic_overrides(pairs: list[str]) -> dict:
    from tf_lsrec.data.synthetic import SyntheticConfig

    fields = {f.name: f.type for f in SyntheticConfig.__dataclass_fields__.values()}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"--synthetic {pair!r}: expected KEY=VALUE with KEY in {list(fields)}")
        out[key] = (float if "float" in str(fields[key]) else int)(value)
    return out


def test_line_targets(interactions, truth) -> dict[str, dict]:
    """Per user, for the test line (history = every interaction but the last): the planted
    long-term category, the short-term category of the last history event's session, the
    category histograms of the history and of that session (``[C]`` counts each) and the
    per-session histograms of the history (``[k, C]``, oldest session first)."""
    frame = interactions.assign(
        long=truth["long_term_category"].str[1:].astype(int).to_numpy(),
        short=truth["short_term_category"].str[1:].astype(int).to_numpy(),
        session=truth["session"].to_numpy(),
        cat=interactions["category"].str[1:].astype(int).to_numpy(),
        order=np.arange(len(interactions)),
    ).sort_values(["user", "timestamp", "order"], kind="stable")
    n_cat = int(frame["cat"].max()) + 1
    out = {}
    for user, rows in frame.groupby("user", sort=False):
        history = rows.iloc[:-1]
        if len(history) == 0:
            continue
        last = history.iloc[-1]
        _, session_code = np.unique(history["session"].to_numpy(), return_inverse=True)
        per_session = np.zeros((session_code.max() + 1, n_cat), dtype=np.int64)
        np.add.at(per_session, (session_code, history["cat"].to_numpy()), 1)
        out[user] = {
            "long": int(last["long"]),
            "short": int(last["short"]),
            "history_counts": per_session.sum(axis=0),
            "session_counts": per_session[-1],
            "sessions": per_session,
        }
    return out


def counting_rule(history_counts: np.ndarray, session_counts: np.ndarray, rng) -> tuple:
    """Long = most frequent history category; short = most frequent other session category
    (ties at random). ``[N, C]`` counts -> two ``[N]`` label arrays."""
    noise = rng.random(history_counts.shape) * 0.5
    long = np.argmax(history_counts + noise, axis=1)
    masked = session_counts + noise
    masked[np.arange(len(long)), long] = -1
    return long, np.argmax(masked, axis=1)


def bayes_rule(sessions: list[np.ndarray], cfg) -> tuple[np.ndarray, np.ndarray]:
    """The Bayes-optimal guesses of the long-term category and of the last session's
    short-term category under the generator's own model (``cfg``: its ``SyntheticConfig``),
    given the categories of the history cut at the true session boundaries.

    Items carry no information beyond their category (drawn inside it independently of the
    user) and timestamps none about categories, so with ``n[i, c]`` the count of category ``c``
    in session ``i``: ``log P(session i | L=l, S_i=s) = Σ_c n[i, c] log(p_long [c=l] +
    p_short [c=s] + p_random / C)``; ``S_i`` is uniform over the ``C - 1`` categories != l and
    ``L`` uniform. ``sessions``: per user ``[k, C]`` -> ``[N]`` long and ``[N]`` short guesses.
    """
    C = cfg.n_categories
    p_rand = 1.0 - cfg.p_long - cfg.p_short
    base = np.log(p_rand / C) if p_rand > 0 else -50.0
    a = np.log(cfg.p_long + p_rand / C) - base
    b = np.log(cfg.p_short + p_rand / C) - base
    off_diagonal = ~np.eye(C, dtype=bool)
    long_guess, short_guess = [], []
    for n in sessions:
        n = n.astype(np.float64)  # [k, C]
        # log-likelihood of each session under (l, s), constants in c dropped: [k, C, C]
        ll = a * n[:, :, None] + b * n[:, None, :]
        ll = np.where(off_diagonal[None], ll, -np.inf)
        per_l = np.logaddexp.reduce(ll, axis=2)  # [k, C]: S_i marginalised
        total = per_l.sum(axis=0)  # [C]: log P(history | L=l) + const
        long_guess.append(int(np.argmax(total)))
        joint = (total - per_l[-1])[:, None] + ll[-1]  # [l, s] for the last session
        short_guess.append(int(np.argmax(np.logaddexp.reduce(joint, axis=0))))
    return np.array(long_guess), np.array(short_guess)


def history_reference(targets: dict, users: list[str], train: np.ndarray, cfg, seed: int) -> dict:
    """Accuracy on the ``~train`` users of three readers of the history itself: the linear probe
    on the normalised histograms of the history and of the current session, the counting rule and
    the Bayes-optimal rule (the ceiling for any representation of the history, given the true
    session boundaries)."""
    from tf_lsrec.evaluation.probe import fit_linear_probe

    long_y = np.array([targets[u]["long"] for u in users])
    short_y = np.array([targets[u]["short"] for u in users])
    hist = np.stack([targets[u]["history_counts"] for u in users]).astype(float)
    sess = np.stack([targets[u]["session_counts"] for u in users]).astype(float)
    feats = np.concatenate(
        [hist / hist.sum(1, keepdims=True), sess / sess.sum(1, keepdims=True)], axis=1
    )
    out = {}
    for t, y in zip(TARGETS, (long_y, short_y)):
        probe = fit_linear_probe(feats[train], y[train])
        out[f"history histograms -> {t}"] = probe.accuracy(feats[~train], y[~train])
    rules = {
        "counting rule": counting_rule(hist, sess, np.random.default_rng(seed)),
        "Bayes-optimal rule": bayes_rule([targets[u]["sessions"] for u in users], cfg),
    }
    for name, (guess_long, guess_short) in rules.items():
        out[f"{name} -> {TARGETS[0]}"] = float(np.mean(guess_long[~train] == long_y[~train]))
        out[f"{name} -> {TARGETS[1]}"] = float(np.mean(guess_short[~train] == short_y[~train]))
    return out


def ceilings(args) -> dict:
    """``history_reference`` for the generator settings alone (no model is trained)."""
    import dataclasses

    from tf_lsrec.data.synthetic import SyntheticConfig, generate_interactions
    from tf_lsrec.evaluation.probe import user_split

    synth = synthetic_overrides(args.synthetic)
    cfg = dataclasses.replace(SyntheticConfig(), **synth)
    runs = []
    for seed in args.seeds:
        interactions, truth = generate_interactions(args.users, seed=seed, **synth)
        targets = test_line_targets(interactions, truth)
        users = list(targets)
        train = user_split(users, 0.5, salt=seed)
        runs.append(history_reference(targets, users, train, cfg, seed))
    summary = {
        k: {
            "mean": float(np.mean([r[k] for r in runs])),
            "std": float(np.std([r[k] for r in runs], ddof=1)) if len(runs) > 1 else None,
        }
        for k in runs[0]
    }
    for k, v in summary.items():
        print(f"  {k:46s} {v['mean']:.3f}", flush=True)
    return {
        "users": args.users,
        "seeds": args.seeds,
        "synthetic": synth,
        "runs": runs,
        "summary": summary,
    }


def probe_table(vectors: dict[str, np.ndarray], long_y, short_y, train) -> dict:
    from tf_lsrec.evaluation.probe import fit_linear_probe

    table = {}
    for name, x in vectors.items():
        for target, y in zip(TARGETS, (long_y, short_y)):
            probe = fit_linear_probe(x[train], y[train])
            table[f"{name} -> {target}"] = probe.accuracy(x[~train], y[~train])
    return table


def run_seed(seed: int, args) -> dict:
    import dataclasses
    import tempfile
    import time

    import pandas as pd

    from tf_lsrec.data.sequential import write_sequential_files
    from tf_lsrec.data.synthetic import SyntheticConfig, generate_interactions
    from tf_lsrec.evaluation.probe import user_split
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.models import get_model_class

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    synth = synthetic_overrides(args.synthetic)
    cfg = dataclasses.replace(SyntheticConfig(), **synth)
    interactions, truth = generate_interactions(args.users, seed=seed, **synth)
    work = tempfile.mkdtemp(prefix="disentangle-")
    paths = write_sequential_files(
        interactions, work, valid_num_ngs=4, test_num_ngs=TEST_NUM_NGS, seed=seed
    )
    hp = prepare_hparams(
        os.path.join(root, "hparams", YAMLS[args.model]),
        overrides=[
            f"train.epochs={args.epochs}",
            f"train.seed={seed}",
            "train.EARLY_STOP=0",
            "data.valid_num_ngs=4",
            f"data.test_num_ngs={TEST_NUM_NGS}",
            "info.pairwise_metrics=['mean_mrr','group_auc']",
            "info.weighted_metrics=['wauc']",
            *args.set,
        ],
        MODEL_DIR=None,
        run_dir=work,
        **paths.as_hparams(),
    )
    t0 = time.time()
    model = get_model_class(hp.model_type)(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    train_seconds = time.time() - t0
    metrics = model.run_eval(hp.test_file, num_ngs=TEST_NUM_NGS)
    log_path = os.path.join(work, "training_log.csv")
    curve = pd.read_csv(log_path).to_dict("records") if os.path.exists(log_path) else []

    long_key, short_key = VECTORS[args.model]

    def step(batch):
        out = model.forward(batch, training=False)
        return {"I_L": out[long_key], "I_S": out[short_key]}

    cols = model.trainer.collect(
        hp.test_file,
        model.trainer.compiled("interests", step),
        batch_keys=("labels", "user_id"),
        raw_ids=True,
    )
    group = TEST_NUM_NGS + 1
    if len(cols["labels"]) % group or not np.all(cols["labels"][::group] == 1):
        raise RuntimeError("test file is not in groups of 1 positive + 9 negatives")
    users = [u.decode() for u in cols["user_id"][::group]]
    targets = test_line_targets(interactions, truth)
    long_y = np.array([targets[u]["long"] for u in users])
    short_y = np.array([targets[u]["short"] for u in users])

    def per_group(x):
        return x.reshape(-1, group, x.shape[-1])

    i_l, i_s = per_group(cols["I_L"]), per_group(cols["I_S"])
    primary = {"I_L": i_l[:, 1:].mean(axis=1), "I_S": i_s[:, 1:].mean(axis=1)}
    positive = {"I_L": i_l[:, 0], "I_S": i_s[:, 0]}
    train = user_split(users, 0.5, salt=seed)
    reference = history_reference(targets, users, train, cfg, seed)
    same_target = {
        "I_L": bool(np.allclose(i_l[:, 0], i_l[:, 1], atol=1e-6)),
        "I_S": bool(np.allclose(i_s[:, 0], i_s[:, 1], atol=1e-6)),
    }
    return {
        "model": args.model,
        "seed": seed,
        "users": len(users),
        "probe_train_users": int(train.sum()),
        "chance": 1.0 / len(np.unique(long_y)),
        "synthetic": synth,
        "overrides": args.set,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 1),
        "test_metrics": metrics,
        "vector_depends_on_target": {k: not v for k, v in same_target.items()},
        "probe": probe_table(primary, long_y, short_y, train),
        "probe_on_positive_row": probe_table(positive, long_y, short_y, train),
        "history_reference": reference,
        "training_curve": curve,
    }


def summarize(directory: str) -> dict:
    """Mean ± std (ddof 1) of every probe entry over the runs in ``directory``, per model/tag."""
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(directory, "*seed*.json")))]
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(r["name"], []).append(r)
    summary = {}
    for name, rs in groups.items():
        entry = {"seeds": [r["seed"] for r in rs], "command": rs[0]["command"]}
        for section in ("probe", "probe_on_positive_row", "history_reference"):
            entry[section] = {}
            for k in rs[0][section]:
                vals = np.array([r[section][k] for r in rs])
                std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
                entry[section][k] = {"mean": float(vals.mean()), "std": std}
        for k in ("wauc", "auc"):
            vals = np.array([r["test_metrics"][k] for r in rs])
            entry[f"test_{k}"] = {
                "mean": float(vals.mean()),
                "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
            }
        summary[name] = entry
        print(f"== {name} ({len(rs)} seeds)")
        for section in ("probe", "probe_on_positive_row", "history_reference"):
            for k, v in entry[section].items():
                std = "" if v["std"] is None else f" ± {v['std']:.3f}"
                print(f"  {section:22s} {k:42s} {v['mean']:.3f}{std}")
    from tf_lsrec.utils.files import atomic_write_text

    atomic_write_text(os.path.join(directory, "summary.json"), json.dumps(summary, indent=1))
    return summary


def main(argv=None) -> list[dict]:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.summarize:
        summarize(args.summarize)
        return []
    from tf_lsrec.utils.provenance import run_provenance

    # one command and one provenance (commit, dirty flag, versions) for every JSON this run writes
    command = "python tools/disentanglement.py " + " ".join(argv)
    provenance = run_provenance(argv=argv, script="tools/disentanglement.py")
    if args.ceilings:
        from tf_lsrec.utils.files import atomic_write_text

        result = ceilings(args)
        result["command"] = command
        result["provenance"] = provenance
        atomic_write_text(args.ceilings, json.dumps(result, indent=1))
        return [result]
    results = []
    for seed in args.seeds:
        r = run_seed(seed, args)
        r["name"] = args.model + (f"-{args.tag}" if args.tag else "")
        r["command"] = command
        r["provenance"] = provenance
        results.append(r)
        print(
            json.dumps(
                {k: r[k] for k in ("name", "seed", "probe", "history_reference", "train_seconds")},
                indent=1,
            ),
            flush=True,
        )
        if args.out_dir:
            from tf_lsrec.utils.files import atomic_write_text

            os.makedirs(args.out_dir, exist_ok=True)
            path = os.path.join(args.out_dir, f"{r['name']}-seed{seed}.json")
            atomic_write_text(path, json.dumps(r, indent=1, default=float))
    return results


if __name__ == "__main__":
    main()
