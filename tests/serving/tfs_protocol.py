"""TF Serving's two request paths, reproduced on a loaded SavedModel (no server needed).

* gRPC: a ``tensorflow.serving.PredictRequest`` proto (``tensorflow-serving-api``) is serialised,
  parsed back, its ``TensorProto`` inputs converted with ``tf.make_ndarray``, the signature run,
  and a ``PredictResponse`` built, serialised and parsed back, as the server and a client do.
* REST: a JSON body (``{"signature_name": ..., "inputs": ...}`` columnar, or ``"instances"``
  rows) decoded with TF Serving's rules (``tensorflow_serving/util/json_tensor.cc``, documented
  at tensorflow.org/tfx/serving/api_rest): the dtype of each input comes from the signature, a
  JSON number is accepted for float inputs, only integers for integer inputs, only strings for
  string inputs, only ``true`` / ``false`` for bool inputs, nested lists must be rectangular;
  ``instances`` stacks each named input of every row along a new first axis. The response is
  ``{"outputs": value | {name: value}}`` for ``inputs`` and ``{"predictions": [...]}`` (one
  entry per row: the value, or ``{name: value}`` with several outputs) for ``instances``.

Used by ``fresh_process.py`` (imported from its directory, not a test module).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import tensorflow as tf


class RequestError(ValueError):
    """What TF Serving answers with INVALID_ARGUMENT before the graph runs."""


def _signature_specs(fn) -> dict[str, tf.TensorSpec]:
    return dict(fn.structured_input_signature[1])


def _check_names(inputs, specs, where: str) -> None:
    missing, extra = sorted(set(specs) - set(inputs)), sorted(set(inputs) - set(specs))
    if missing or extra:
        raise RequestError(f"{where}: missing inputs {missing}, unexpected inputs {extra}")


def _run(fn, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = fn(**{k: tf.constant(v) for k, v in arrays.items()})
    return {k: v.numpy() for k, v in out.items()}


# ---------------------------------------------------------------------- gRPC
def predict_proto(loaded, model_name: str, signature: str, inputs: dict) -> dict[str, np.ndarray]:
    """One request through ``PredictRequest`` / ``PredictResponse`` bytes."""
    from tensorflow_serving.apis import predict_pb2

    req = predict_pb2.PredictRequest()
    req.model_spec.name = model_name
    req.model_spec.signature_name = signature
    for name, value in inputs.items():
        req.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    wire = req.SerializeToString()

    # server side
    got = predict_pb2.PredictRequest.FromString(wire)
    fn = loaded.signatures[got.model_spec.signature_name or "serving_default"]
    arrays = {k: tf.make_ndarray(v) for k, v in got.inputs.items()}
    _check_names(arrays, _signature_specs(fn), "PredictRequest")
    outputs = _run(fn, arrays)
    resp = predict_pb2.PredictResponse()
    resp.model_spec.CopyFrom(got.model_spec)
    for name, value in outputs.items():
        resp.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    back = predict_pb2.PredictResponse.FromString(resp.SerializeToString())
    return {k: tf.make_ndarray(v) for k, v in back.outputs.items()}


# ---------------------------------------------------------------------- REST
def to_json_value(value: np.ndarray):
    """A numpy input as the JSON a client sends (strings decoded as UTF-8)."""
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "SU":
        return np.vectorize(
            lambda x: x.decode("utf-8") if isinstance(x, bytes) else str(x), otypes=[object]
        )(arr).tolist()
    return arr.tolist()


def inputs_body(signature: str, inputs: dict) -> str:
    """The columnar REST body: ``{"signature_name": ..., "inputs": {name: value}}``."""
    return json.dumps(
        {"signature_name": signature, "inputs": {k: to_json_value(v) for k, v in inputs.items()}}
    )


def instances_body(signature: str, inputs: dict) -> str:
    """The row REST body: ``{"signature_name": ..., "instances": [{name: row value}]}``."""
    names = sorted(inputs)
    rows = len(np.asarray(inputs[names[0]]))
    instances = [{k: to_json_value(np.asarray(inputs[k])[i]) for k in names} for i in range(rows)]
    return json.dumps({"signature_name": signature, "instances": instances})


def _leaf(x, dtype: tf.DType, where: str):
    if isinstance(x, dict):
        if set(x) != {"b64"} or dtype != tf.string:
            raise RequestError(f"{where}: only {{'b64': ...}} objects of string inputs")
        return base64.b64decode(x["b64"])
    if dtype == tf.string:
        if not isinstance(x, str):
            raise RequestError(f"{where}: JSON value {x!r} is not of expected type: string")
        return x.encode("utf-8")
    if dtype == tf.bool:
        if not isinstance(x, bool):
            raise RequestError(f"{where}: JSON value {x!r} is not of expected type: bool")
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise RequestError(f"{where}: JSON value {x!r} is not of expected type: {dtype.name}")
    if dtype.is_integer and not isinstance(x, int):
        raise RequestError(f"{where}: JSON value {x!r} is not of expected type: {dtype.name}")
    return x


def _tensor(value, dtype: tf.DType, where: str) -> np.ndarray:
    """A JSON value -> ndarray of ``dtype``; nested lists must be rectangular."""

    def shape_of(v):
        if not isinstance(v, list):
            return ()
        if not v:
            return (0,)
        inner = {shape_of(e) for e in v}
        if len(inner) != 1:
            raise RequestError(f"{where}: nested lists of different lengths (not a tensor)")
        return (len(v), *inner.pop())

    def flat(v):
        return [y for e in v for y in flat(e)] if isinstance(v, list) else [_leaf(v, dtype, where)]

    shape = shape_of(value)
    np_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    return np.array(flat(value), dtype=np_dtype).reshape(shape)


def _json_output(value: np.ndarray):
    if value.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(value).tolist()
    return value.tolist()


def predict_rest(loaded, body: str) -> str:
    """One REST ``:predict`` call: the JSON body in, the JSON response out."""
    req = json.loads(body)
    fn = loaded.signatures[req.get("signature_name", "serving_default")]
    specs = _signature_specs(fn)
    if ("inputs" in req) == ("instances" in req):
        raise RequestError("the body must hold exactly one of `inputs` and `instances`")
    if "inputs" in req:
        named = req["inputs"]
        if not isinstance(named, dict):
            raise RequestError("`inputs` of a signature with several inputs must be an object")
        _check_names(named, specs, "inputs")
        arrays = {k: _tensor(v, specs[k].dtype, f"inputs.{k}") for k, v in named.items()}
        outputs = _run(fn, arrays)
        if len(outputs) == 1:
            return json.dumps({"outputs": _json_output(next(iter(outputs.values())))})
        return json.dumps({"outputs": {k: _json_output(v) for k, v in outputs.items()}})
    rows = req["instances"]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise RequestError("`instances` must be a non-empty list of objects (named inputs)")
    for i, r in enumerate(rows):
        _check_names(r, specs, f"instances[{i}]")
    arrays = {k: _tensor([r[k] for r in rows], specs[k].dtype, f"instances.{k}") for k in specs}
    outputs = _run(fn, arrays)
    if len(outputs) == 1:
        return json.dumps({"predictions": _json_output(next(iter(outputs.values())))})
    names = sorted(outputs)
    preds = [{k: _json_output(outputs[k][i]) for k in names} for i in range(len(rows))]
    return json.dumps({"predictions": preds})


def rest_outputs(response: str, output_names: list[str]) -> dict[str, np.ndarray]:
    """A REST response back to ``{output name: ndarray}`` (strings as bytes)."""
    data = json.loads(response)

    def arr(v):
        a = np.array(v)
        return np.char.encode(a, "utf-8").astype(object) if a.dtype.kind == "U" else a

    if "outputs" in data:
        out = data["outputs"]
        if len(output_names) == 1:
            return {output_names[0]: arr(out)}
        return {k: arr(v) for k, v in out.items()}
    preds = data["predictions"]
    if len(output_names) == 1:
        return {output_names[0]: arr(preds)}
    return {k: arr([p[k] for p in preds]) for k in output_names}
