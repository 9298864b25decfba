"""Replay the warm-up file, then 1 x 100 score_candidates requests for 40 different users
(different history lengths): any XLA compile shows as a slow first request."""
import glob, sys, time
import numpy as np, tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from tf_lsrec.serving import read_warmup_file
vdir = sys.argv[1]; test_file = sys.argv[2]
loaded = tf.saved_model.load(vdir)
for req in read_warmup_file(vdir):
    sig = loaded.signatures[req.signature] if hasattr(req, "signature") else None
    if sig is None:
        sig = loaded.signatures[req.signature_name]
    t0 = time.perf_counter(); sig(**{k: tf.constant(v) for k, v in req.inputs.items()})
    print("warmup", getattr(req, "signature_name", getattr(req, "signature", "?")), round((time.perf_counter()-t0)*1e3, 1), "ms")
cands = None
times, lens = [], []
with open(test_file) as f:
    lines = [l.rstrip("\n").split("\t") for l in f][:4000]
items = sorted({r[2] for r in lines}); cats = {r[2]: r[3] for r in lines}
ci = items[:100]; cc = [cats[i] for i in ci]
seen = set()
for r in lines:
    if r[1] in seen or not r[5]: continue
    seen.add(r[1])
    x = dict(user=tf.constant(r[1]), time=tf.constant(float(r[4]), tf.float64),
             item_history=tf.constant(r[5].split(",")), category_history=tf.constant(r[6].split(",")),
             time_history=tf.constant([float(t) for t in r[7].split(",")], tf.float64),
             candidate_items=tf.constant(ci), candidate_categories=tf.constant(cc))
    t0 = time.perf_counter(); loaded.signatures["score_candidates"](**x)["scores"].numpy()
    times.append((time.perf_counter()-t0)*1e3); lens.append(len(r[5].split(",")))
    if len(times) == 40: break
print("history lengths", sorted(set(lens))[:10], "...", len(set(lens)), "distinct")
print("per-request ms: first", round(times[0], 1), "max", round(max(times), 1), "median", round(float(np.median(times)), 1))
