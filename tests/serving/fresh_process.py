"""Run requests against an exported SavedModel in a fresh Python process (not a test module).

    python fresh_process.py <requests.pkl> <results.pkl>

``requests.pkl``: ``{"export_dir": str, "requests": [(name, signature, {input: ndarray})]}``.
``results.pkl``: ``{name: {"outputs": {key: ndarray}} | {"error": "<Type>: <message>"}}`` plus
``"__warmup__"``: the outputs of every warm-up record, ``"__signatures__"``: the signature names,
and ``"__self_contained__"``: True when loading and serving never imported ``tf_lsrec``.

Each request is also sent the ways TF Serving receives it (``tfs_protocol.py``): as a
``PredictRequest`` proto (``"proto"``, when ``tensorflow-serving-api`` is installed), as a REST
``inputs`` JSON body (``"rest_inputs"``) and, for ``serving_default``, as REST ``instances``
rows (``"rest_instances"``); each holds ``{"outputs": ...}`` or ``{"error": ...}`` like the
direct call.
"""

import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402


def _outcome(call) -> dict:
    try:
        return {"outputs": call()}
    except Exception as e:  # noqa: BLE001 - the error itself is the result
        return {"error": f"{type(e).__name__}: {e}"}


def _transports(loaded, tfs, has_apis: bool, model_name: str, signature: str, inputs) -> dict:
    """The direct call's outcome, with ``"proto"`` / ``"rest_inputs"`` / ``"rest_instances"``."""
    fn = loaded.signatures[signature]
    out_names = sorted(fn.structured_outputs)

    def direct():
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in out.items()}

    def rest(body):
        return tfs.rest_outputs(tfs.predict_rest(loaded, body), out_names)

    res = _outcome(direct)
    if has_apis:
        res["proto"] = _outcome(lambda: tfs.predict_proto(loaded, model_name, signature, inputs))
    res["rest_inputs"] = _outcome(lambda: rest(tfs.inputs_body(signature, inputs)))
    if signature == "serving_default":
        res["rest_instances"] = _outcome(lambda: rest(tfs.instances_body(signature, inputs)))
    return res


def main(requests_path: str, results_path: str) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tfs_protocol as tfs

    try:
        import tensorflow_serving.apis  # noqa: F401
    except ImportError:
        has_apis = False
    else:
        has_apis = True
    with open(requests_path, "rb") as f:
        spec = pickle.load(f)
    loaded = tf.saved_model.load(spec["export_dir"])
    model_name = os.path.basename(os.path.dirname(os.path.normpath(spec["export_dir"])))
    results = {}
    for name, signature, inputs in spec["requests"]:
        results[name] = _transports(loaded, tfs, has_apis, model_name, signature, inputs)
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
