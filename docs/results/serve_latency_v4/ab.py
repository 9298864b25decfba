"""A/B: load two exports of one model in one process, time score_candidates (1 x 100, the
bench's request: first ml-100k test line with a history) interleaved in rounds; CPU p50/p99."""
import glob, json, sys, time
import numpy as np, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
a_dir, b_dir, test_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def vdir(d):
    return sorted(glob.glob(d + "/*/1") + glob.glob(d + "/1"))[0]
sigs = {k: tf.saved_model.load(vdir(d)).signatures["score_candidates"] for k, d in (("before", a_dir), ("after", b_dir))}
lines = [l.rstrip("\n").split("\t") for _, l in zip(range(3000), open(test_file))]
r = next(l for l in lines if l[5])
items = sorted({l[2] for l in lines}); cats = {l[2]: l[3] for l in lines}
ci = items[:100]
x = dict(user=tf.constant(r[1]), time=tf.constant(float(r[4]), tf.float64),
         item_history=tf.constant(r[5].split(",")), category_history=tf.constant(r[6].split(",")),
         time_history=tf.constant([float(t) for t in r[7].split(",")], tf.float64),
         candidate_items=tf.constant(ci), candidate_categories=tf.constant([cats[i] for i in ci]))
out = {k: s(**x)["scores"].numpy() for k, s in sigs.items()}
print("max |score diff| before/after:", float(np.abs(out["before"] - out["after"]).max()))
cpu = {k: [] for k in sigs}
for _ in range(20):
    for s in sigs.values(): s(**x)
for i in range(n):
    for k, s in sigs.items():
        c0 = time.process_time(); s(**x)["scores"].numpy(); cpu[k].append((time.process_time() - c0) * 1e3)
res = {k: {"cpu_p50_ms": round(float(np.percentile(v, 50)), 3), "cpu_p99_ms": round(float(np.percentile(v, 99)), 3)} for k, v in cpu.items()}
import os
res["history_length"] = len(r[5].split(",")); res["requests_each"] = n; res["load_average"] = [round(v, 2) for v in os.getloadavg()]
print(json.dumps(res))
