"""Run requests against an exported SavedModel in a fresh Python process (not a test module).

    python fresh_process.py <requests.pkl> <results.pkl>

``requests.pkl``: ``{"export_dir": str, "requests": [(name, signature, {input: ndarray})]}``.
``results.pkl``: ``{name: {"outputs": {key: ndarray}} | {"error": "<Type>: <message>"}}`` plus
``"__warmup__"``: the outputs of every warm-up record, ``"__signatures__"``: the signature names,
and ``"__self_contained__"``: True when loading and serving never imported ``tf_lsrec``.
"""

import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402


def main(requests_path: str, results_path: str) -> None:
    with open(requests_path, "rb") as f:
        spec = pickle.load(f)
    loaded = tf.saved_model.load(spec["export_dir"])
    results = {}
    for name, signature, inputs in spec["requests"]:
        fn = loaded.signatures[signature]
        try:
            out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
            results[name] = {"outputs": {k: v.numpy() for k, v in out.items()}}
        except Exception as e:  # noqa: BLE001 - the error itself is the result
            results[name] = {"error": f"{type(e).__name__}: {e}"}
    results["__self_contained__"] = "tf_lsrec" not in sys.modules
    warm = []
    warm_path = os.path.join(spec["export_dir"], "assets.extra", "tf_serving_warmup_requests")
    from tf_lsrec.serving.warmup import read_warmup_file  # pure decoding, no model code

    for r in read_warmup_file(warm_path):
        out = loaded.signatures[r.signature_name](
            **{k: tf.constant(v) for k, v in r.inputs.items()}
        )
        warm.append((r.signature_name, {k: v.numpy() for k, v in out.items()}))
    results["__warmup__"] = warm
    results["__signatures__"] = sorted(loaded.signatures)
    with open(results_path, "wb") as f:
        pickle.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
