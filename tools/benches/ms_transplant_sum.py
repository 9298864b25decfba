"""SUM weight transplant: Microsoft's SUM graph and ours on one fixed batch, same weights.

    python tools/benches/ms_transplant_sum.py --ms-python /work/ms-venv/bin/python \\
        [--data-dir DIR] [--cell SUM|SUMV2] [--max-len 8] [--tiny] [--out FILE.npz]

Microsoft's side (``--side ms``, run in its own venv and process) builds ``SUMModel`` on the
files of ``--data-dir`` (default: a planted dataset, made if missing), records each variable's
initial value (``init/``), moves every variable by N(0, ``--perturb``) (at ``init_value`` 0.01
every activation sits near 0, where many mistakes cancel out), takes the first training batch
of its own iterator (1 positive + ``train_num_ngs`` in-batch negatives per line) and writes an
``.npz`` with the variables (``var/``), that batch (``in/``), the training- and inference-mode
logits, the data / regularisation / total loss, the gradient of the total loss for every
variable (``grad/``), every variable and BN statistic after one Adam step on the batch
(``step/``) and the stepped model's scores of the validation file (``valid/pred``). ``--tiny``
(small widths, no ``init/`` and ``valid/``) makes a file small enough to commit: planted data
only, never MovieLens.

Our side (``--side ours``; ``both`` runs the two) loads the file into ``tf_lsrec``'s SUM
(:func:`build_ours`, names mapped by :func:`ms_name_map`) and prints the largest differences
as JSON (:func:`compare`). ``tests/models/test_sum_ms_transplant.py`` runs it on the committed
``--tiny`` files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)

FEED_KEYS = ("labels", "users", "items", "cates", "item_history", "item_cate_history", "mask",
             "time", "time_diff", "time_from_first_action", "time_to_now")  # fmt: skip


TINY = dict(
    item_embedding_dim=8,
    cate_embedding_dim=4,
    user_embedding_dim=4,
    hidden_size=6,
    layer_sizes=[12, 6],
)
"""``--tiny``: small widths, for a file small enough to commit (tests/models/)."""


def _settings(args) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from ms_parity_sum import MS_SUM_YAML  # noqa: E402  (also importable from the ms venv)

    return {**MS_SUM_YAML, "cell": args.cell, "slots": args.slots, "batch_size": args.batch_size,
            "embed_l2": args.embed_l2, "layer_l2": args.layer_l2, "max_seq_length": args.max_len,
            "dropout": [0.0, 0.0], "epochs": 1, **(TINY if args.tiny else {})}  # fmt: skip


def _vocab(d: str) -> dict[str, str]:
    return {k: os.path.join(d, f) for k, f in (("user_vocab", "user_vocab.pkl"),
            ("item_vocab", "item_vocab.pkl"), ("cate_vocab", "category_vocab.pkl"))}  # fmt: skip


def run_microsoft(args) -> None:
    import types

    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import keras.src.layers.rnn.legacy_cells as cells

    sys.modules.setdefault("keras.layers.legacy_rnn", types.ModuleType("keras.layers.legacy_rnn"))
    sys.modules["keras.layers.legacy_rnn"].rnn_cell_impl = cells
    sys.modules.setdefault("keras.layers.legacy_rnn.rnn_cell_impl", cells)
    import random

    from recommenders.models.deeprec.deeprec_utils import prepare_hparams
    from recommenders.models.deeprec.io.sequential_iterator import SequentialIterator
    from recommenders.models.deeprec.models.sequential.sum import SUMModel

    random.seed(args.seed)  # the iterator's negatives (Python random), for a repeatable batch
    hp = prepare_hparams(
        None,
        **_settings(args),
        **_vocab(args.data_dir),
        MODEL_DIR="/tmp/sum_transplant/ms_model/",
        write_tfevents=False,
    )
    model = SUMModel(hp, SequentialIterator, seed=args.seed)
    it = model.iterator
    batch = next(
        iter(
            it.load_data_from_file(
                os.path.join(args.data_dir, "train_data"),
                min_seq_length=1,
                batch_num_ngs=hp.train_num_ngs,
            )
        )
    )
    with model.graph.as_default():
        variables = tf.compat.v1.trainable_variables()
        grads = tf.gradients(model.loss, variables)
        variables = [v for v, g in zip(variables, grads) if g is not None]
        grads = [g for g in grads if g is not None]
        grads = [tf.convert_to_tensor(g) for g in grads]  # IndexedSlices -> dense
    out = {}
    for v, x in zip(variables, model.sess.run(variables)):
        if not args.tiny:
            out["init/" + v.name] = x  # Microsoft's own initial values (seeded)
    if args.perturb:
        # init_value 0.01 leaves every activation near 0, where many mistakes cancel out:
        # move every variable by N(0, perturb) (α, β by a tenth of it) before comparing
        rng = np.random.default_rng(args.seed)
        with model.graph.as_default():
            for v in variables:
                x = model.sess.run(v)
                sd = args.perturb * (0.1 if "_no_reg" in v.name else 1.0)
                v.load(x + rng.normal(0.0, sd, x.shape).astype(np.float32), model.sess)
    train_feed = dict(batch)
    train_feed[model.layer_keeps] = model.keep_prob_train
    train_feed[model.is_train_stage] = True
    sess = model.sess
    vals = sess.run(variables)
    for v, x in zip(variables, vals):
        out["var/" + v.name] = x
    for k in FEED_KEYS:
        out["in/" + k] = next(v for p, v in batch.items() if p is getattr(it, k))
    logit, data_loss, reg_loss, loss, g = sess.run(
        [model.logit, model.data_loss, model.regular_loss, model.loss, grads], feed_dict=train_feed
    )
    out.update({"train/logit": logit, "train/data_loss": data_loss, "train/regular_loss": reg_loss,
                "train/loss": loss})  # fmt: skip
    for v, x in zip(variables, g):
        out["grad/" + v.name] = x
    eval_feed = dict(batch)
    eval_feed[model.layer_keeps] = model.keep_prob_test
    eval_feed[model.is_train_stage] = False
    out["eval/logit"] = sess.run(model.logit, feed_dict=eval_feed)
    # one Adam step on this batch, then the new variables (checks the optimizer and BN updates)
    sess.run([model.update, model.extra_update_ops], feed_dict=train_feed)
    with model.graph.as_default():
        bn = [v for v in tf.compat.v1.global_variables() if "moving_" in v.name]
    for v, x in zip(variables + bn, sess.run(variables + bn)):
        out["step/" + v.name] = x
    # the stepped model's scores of every validation line (the evaluation path: parsing,
    # truncation to max_seq_length, padding, BN inference statistics)
    if not args.tiny:
        pred_file = args.out + ".valid_pred.txt"
        model.predict(os.path.join(args.data_dir, "valid_data"), pred_file)
        out["valid/pred"] = np.loadtxt(pred_file, dtype=np.float32)
        os.remove(pred_file)
    # --steps more training steps on the iterator's next batches (Adam's state over steps)
    batches = iter(
        it.load_data_from_file(
            os.path.join(args.data_dir, "train_data"),
            min_seq_length=1,
            batch_num_ngs=hp.train_num_ngs,
        )
    )
    for i in range(args.steps):
        more = next(batches)
        for k in FEED_KEYS:
            out[f"more{i}/{k}"] = next(v for p, v in more.items() if p is getattr(it, k))
        more[model.layer_keeps] = model.keep_prob_train
        more[model.is_train_stage] = True
        sess.run([model.update, model.extra_update_ops], feed_dict=more)
    if args.steps:
        for v, x in zip(variables + bn, sess.run(variables + bn)):
            out["final/" + v.name] = x
    out["settings"] = np.array(json.dumps(_settings(args)))
    np.savez_compressed(args.out, **out)
    print(
        f"wrote {args.out}: {len(variables)} variables, batch rows {logit.shape[0]}",
        file=sys.stderr,
    )


# ---------------------------------------------------------------------------------- our side
def ms_name_map(model) -> dict[str, object]:
    """Microsoft's variable name -> our variable, for a built ``tf_lsrec`` SUM model."""
    cell, mlp = model.memory.cell, model.head
    names = {
        "sequential/embedding/user_embedding:0": model.user_embedding.embeddings,
        "sequential/embedding/item_embedding:0": model.item_embedding.embeddings,
        "sequential/embedding/cate_embedding:0": model.cate_embedding.embeddings,
    }
    # Microsoft's cell scope is the cell class's snake-case name
    pre = "sequential/sum/sum/sum/" + ("sumv2_cell/" if cell.variant == "sumv2" else "sum_cell/")
    for ms, ours in (("_erase_W", "erase_kernel"), ("_erase_b", "erase_bias"),
                     ("_reset_W", "reset_kernel"), ("_reset_b", "reset_bias"),
                     ("_add_W", "add_kernel"), ("_add_b", "add_bias"), ("_heads", "heads"),
                     ("_beta_no_reg", "beta"), ("_alpha_no_reg", "alpha"),
                     ("_writing_W", "writing_kernel"), ("_writing_b", "writing_bias"),
                     ("_writing_W02", "writing_out")):  # fmt: skip
        if hasattr(cell, ours):
            names[f"{pre}{ms}:0"] = getattr(cell, ours)
    if model.readout is not None:
        names["sequential/sum/query_att/query_att_W:0"] = model.readout.kernel
    names.update(mlp_name_map(mlp, "sequential/logit_fcn/nn_part/"))
    return names


def mlp_name_map(mlp, prefix: str) -> dict[str, object]:
    """Microsoft's ``_fcn_net`` names -> our MLP's variables (kernels, biases, BN)."""
    out = {}
    dense = [v for v in mlp.weights if "kernel" in v.name]
    bias = [v for v in mlp.weights if "bias" in v.name]
    for i in range(len(dense) - 1):
        out[f"{prefix}w_nn_layer{i}:0"] = dense[i]
        out[f"{prefix}b_nn_layer{i}:0"] = bias[i]
    out[f"{prefix}w_nn_output:0"] = dense[-1]
    out[f"{prefix}b_nn_output:0"] = bias[-1]
    for kind in ("gamma", "beta", "moving_mean", "moving_variance"):
        vs = [v for v in mlp.weights if v.name.endswith(f"/{kind}:0")]
        for i, v in enumerate(vs):
            suffix = "" if i == 0 else f"_{i}"
            out[f"{prefix}batch_normalization{suffix}/{kind}:0"] = v
    return out


def build_ours(z, data_dir: str, **overrides):
    """``(model, batch)``: our SUM with the ``.npz``'s settings and weights, and its batch."""
    import numpy as np

    import tf_lsrec  # noqa: F401
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.models import get_model_class

    s = json.loads(str(z["settings"]))
    keys = ("model_type", "method", "layer_sizes", "activation", "user_dropout", "dropout",
            "item_embedding_dim", "cate_embedding_dim", "user_embedding_dim", "slots",
            "attention_size", "cell", "init_method", "init_value", "embed_l2", "embed_l1",
            "layer_l2", "layer_l1", "learning_rate", "loss", "optimizer", "batch_size",
            "enable_BN", "max_seq_length", "hidden_size", "train_num_ngs")  # fmt: skip
    values = {k: s[k] for k in keys}
    values["model_type"] = "sum"
    values.update(_vocab(data_dir), **overrides)
    hp = prepare_hparams(os.path.join(ROOT, "hparams", "sum.yaml"), **values)
    model = get_model_class("sum")(hp)
    model._ensure_built()
    batch = _batch(z, "in/")
    names = ms_name_map(model)
    model.initial_stats = init_stats(model, names, z)
    for name, var in names.items():
        key = "var/" + name
        if key in z:
            var.assign(np.reshape(z[key], var.shape))
    return model, batch, names


def _batch(z, prefix: str) -> dict:
    """Our batch dict from the arrays Microsoft fed (``prefix`` + feed key)."""
    import tensorflow as tf

    batch = {k: tf.constant(z[prefix + k]) for k in FEED_KEYS}
    batch["time"] = tf.cast(batch["time"], tf.float64)
    rows, length = batch["mask"].shape
    batch["time_history"] = tf.zeros([rows, length], tf.float64)
    batch["sample_weight"] = tf.ones([rows], tf.float32)
    return batch


def compare(z, data_dir: str) -> dict:
    """Largest absolute differences between Microsoft's outputs in ``z`` and ours."""
    import numpy as np
    import tensorflow as tf

    model, batch, names = build_ours(z, data_dir)
    missing = sorted(k[4:] for k in z.files if k.startswith("var/") and k[4:] not in names)
    g = model.group_size
    res = {"unmapped_microsoft_variables": missing, "init_std_max_mean": model.initial_stats}
    ev = model.forward(batch, training=False, group_size=g)["logits"].numpy()
    res["eval_logit"] = float(np.abs(ev - z["eval/logit"]).max())
    with tf.GradientTape() as tape:
        parts = model.compute_loss_parts(batch, training=True, group_size=g)
    out = model.forward(batch, training=True, group_size=g)["logits"].numpy()
    res["train_logit"] = float(np.abs(out - z["train/logit"]).max())
    for k in ("data_loss", "regular_loss"):
        res[k] = [float(parts[k]), float(z["train/" + k])]
    res["loss"] = [float(parts["total_loss"]), float(z["train/loss"])]
    variables = [names[n] for n in names]
    grads = tape.gradient(parts["total_loss"], variables)
    gd = {}
    for n, v, gr in zip(names, variables, grads):
        key = "grad/" + n
        if key not in z:
            continue
        mine = np.zeros(v.shape, np.float32) if gr is None else tf.convert_to_tensor(gr).numpy()
        ref = z[key]
        if hasattr(ref, "shape") and ref.dtype == object:
            continue
        ref = np.reshape(ref, v.shape)
        gd[n] = [float(np.abs(mine - ref).max()), float(np.abs(ref).max())]
    res["grad_max_abs_diff"] = gd
    res["step_max_abs_diff"] = one_step(model, batch, names, z)
    if "valid/pred" in z.files:
        res["valid_pred"] = valid_predictions(model, names, z, data_dir)
    if "more0/labels" in z.files:
        res["after_more_steps_max_abs_diff"] = more_steps(model, names, z)
    return res


def init_stats(model, names, z) -> dict[str, list[float]]:
    """Per variable: ``[ours std, Microsoft std, ours max |x|, Microsoft max |x|]`` of the
    initial values (each library's own initializer, before the transplant)."""
    import numpy as np

    out = {}
    for n, v in names.items():
        key = "init/" + n
        if key in z:
            a, b = v.numpy(), z[key]
            out[n] = [
                float(a.std()),
                float(b.std()),
                float(np.abs(a).max()),
                float(np.abs(b).max()),
                float(a.mean()),
                float(b.mean()),
            ]
    return out


def one_step(model, batch, names, z) -> dict[str, float]:
    """One training step of ours (the fit step, optimizer included) on the batch; the largest
    difference of each variable (BN moving statistics too) from Microsoft's after its step."""
    import numpy as np
    import tensorflow as tf

    from tf_lsrec.models.optimizers import make_optimizer
    from tf_lsrec.models.trainer import make_train_step

    model.compile(optimizer=make_optimizer(model.hparams))
    for n, v in names.items():  # the training-mode forwards before this one moved them
        if "moving_" in n:
            v.assign(tf.zeros_like(v) if "moving_mean" in n else tf.ones_like(v))
    make_train_step(model).python_function(batch)  # the fit step's code, run eagerly
    out = {}
    for n, v in names.items():
        key = "step/" + n
        if key in z:
            out[n] = float(np.abs(v.numpy() - np.reshape(z[key], v.shape)).max())
    return out


def valid_predictions(model, names, z, data_dir: str) -> dict[str, float]:
    """Load Microsoft's stepped variables (BN statistics too) and score the validation file
    with our evaluation path; the largest difference from Microsoft's scores."""
    import tempfile

    import numpy as np

    for n, v in names.items():
        if "step/" + n in z.files:
            v.assign(np.reshape(z["step/" + n], v.shape))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pred.txt")
        model.predict(os.path.join(data_dir, "valid_data"), path)
        mine = np.loadtxt(path, dtype=np.float32)
    ref = z["valid/pred"]
    if mine.shape != ref.shape:
        return {"rows_ours": int(mine.size), "rows_microsoft": int(ref.size)}
    return {
        "rows": int(ref.size),
        "max_abs_diff": float(np.abs(mine - ref).max()),
        "score_std": float(ref.std()),
    }


def more_steps(model, names, z) -> dict[str, float]:
    """Continue from Microsoft's one-step variables with our optimizer (its state after the
    first step) over the batches ``more{i}/``; the largest difference of each variable from
    Microsoft's after the same steps (``final/``)."""
    import numpy as np

    from tf_lsrec.models.trainer import make_train_step

    for n, v in names.items():
        if "step/" + n in z.files:
            v.assign(np.reshape(z["step/" + n], v.shape))
    step = make_train_step(model).python_function  # eager: same code, no trace
    i = 0
    while f"more{i}/labels" in z.files:
        step(_batch(z, f"more{i}/"))
        i += 1
    return {
        n: float(np.abs(v.numpy() - np.reshape(z["final/" + n], v.shape)).max())
        for n, v in names.items()
        if "final/" + n in z.files
    } | {"steps": i}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--side", choices=["both", "ms", "ours"], default="both")
    p.add_argument("--ms-python")
    p.add_argument("--data-dir", default="/tmp/sum_transplant/planted")
    p.add_argument("--out", default="/tmp/sum_transplant/ms_sum.npz")
    p.add_argument("--cell", default="SUM")
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=40)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--embed-l2", type=float, default=0.01)
    p.add_argument("--layer-l2", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--steps", type=int, default=0, help="training steps after the first")
    p.add_argument("--tiny", action="store_true", help="small widths, no init / validation")
    p.add_argument("--perturb", type=float, default=0.3, help="N(0, sd) added to every variable")
    args = p.parse_args(argv)
    if args.side == "ms":
        run_microsoft(args)
        return
    if args.side == "both":
        if not args.ms_python:
            p.error("--ms-python is required to run both sides")
        if not os.path.exists(os.path.join(args.data_dir, "train_data")):
            sys.path.insert(0, ROOT)
            from tf_lsrec.data.prepare import make_planted_dataset

            make_planted_dataset(args.data_dir, seed=0)
        cmd = [args.ms_python, os.path.abspath(__file__), "--side", "ms"]
        for key, value in vars(args).items():
            if key in ("side", "ms_python") or value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            cmd += [flag] if value is True else [flag, str(value)]
        # TF 2.15 there has no tf_keras: our TF_USE_LEGACY_KERAS=1 must not reach it
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        subprocess.run(cmd, check=True, env=env)
    sys.path.insert(0, ROOT)
    import numpy as np

    with np.load(args.out, allow_pickle=False) as z:
        print(json.dumps(compare(z, args.data_dir), indent=1))


if __name__ == "__main__":
    main()
