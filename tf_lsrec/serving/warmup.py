"""TF Serving warm-up file: a TFRecord of ``tensorflow.serving.PredictionLog`` protos.

TF Serving replays ``<version>/assets.extra/tf_serving_warmup_requests`` when it loads a model,
so the first real request does not pay for graph initialisation. The records are built with the
official protos of ``tensorflow-serving-api`` (``pip install "tf_lsrec[serving]"``, part of the
``dev`` extra) when that package is installed. It is not a runtime dependency of ``tf_lsrec``:
without it the same messages are encoded here with the protobuf wire format (field numbers from
``tensorflow_serving/apis/{prediction_log,predict,model}.proto``), byte for byte what the
official protos' deterministic serialisation gives (tested)::

    PredictionLog { PredictLog predict_log = 6; }
    PredictLog    { PredictRequest request = 1; }
    PredictRequest{ ModelSpec model_spec = 1; map<string, TensorProto> inputs = 2; }
    ModelSpec     { string name = 1; string signature_name = 3; }

(a ``map`` field is a repeated entry message ``{ string key = 1; TensorProto value = 2; }``).
Tensors are ``tensorflow.TensorProto`` built by ``tf.make_tensor_proto``. ``read_warmup_file``
decodes the file back (used by the tests and handy for inspecting an export).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"

_LEN = 2  # wire type of length-delimited fields
_VARINT = 0


@dataclasses.dataclass
class WarmupRequest:
    """One ``PredictRequest``: the model name, signature name and named input arrays."""

    model_name: str
    signature_name: str
    inputs: dict[str, np.ndarray]


def serving_apis():
    """``tensorflow_serving.apis.prediction_log_pb2`` when ``tensorflow-serving-api`` is
    installed, else ``None``."""
    try:
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError:
        return None
    return prediction_log_pb2


def prediction_log(request: WarmupRequest):
    """The official ``tensorflow.serving.PredictionLog`` proto of one request (needs
    ``tensorflow-serving-api``)."""
    apis = serving_apis()
    if apis is None:
        raise ImportError(
            "tensorflow-serving-api is not installed; pip install 'tf_lsrec[serving]' "
            "(or tensorflow-serving-api matching your TensorFlow version)"
        )
    log = apis.PredictionLog()
    req = log.predict_log.request
    req.model_spec.name = request.model_name
    req.model_spec.signature_name = request.signature_name
    for name, value in request.inputs.items():
        req.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return log


# ---------------------------------------------------------------------- wire encoding
def _varint(n: int) -> bytes:
    if n < 0:
        raise ValueError(f"varint of a negative number {n}")
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or embedded message)."""
    return _varint((number << 3) | _LEN) + _varint(len(payload)) + payload


def encode_request(request: WarmupRequest, official: bool | None = None) -> bytes:
    """Serialized ``PredictionLog`` holding one ``PredictLog.request``.

    ``official``: use ``tensorflow-serving-api``'s protos (deterministic serialisation: map
    entries sorted by key); ``None`` = when installed, else the wire encoder below.
    """
    if official is None:
        official = serving_apis() is not None
    if official:
        return prediction_log(request).SerializeToString(deterministic=True)
    spec = _field(1, request.model_name.encode()) + _field(3, request.signature_name.encode())
    body = _field(1, spec)
    for name in sorted(request.inputs):
        tensor = tf.make_tensor_proto(request.inputs[name]).SerializeToString()
        body += _field(2, _field(1, name.encode()) + _field(2, tensor))
    return _field(6, _field(1, body))


# ---------------------------------------------------------------------- wire decoding
def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint in a warm-up record")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterable[tuple[int, int | bytes]]:
    """``(field number, value)`` pairs of one message; values are ints or raw bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _LEN:
            size, pos = _read_varint(buf, pos)
            value = buf[pos : pos + size]
            if len(value) != size:
                raise ValueError("truncated field in a warm-up record")
            pos += size
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in a warm-up record")
        yield number, value


def decode_request(record: bytes) -> WarmupRequest:
    """Inverse of :func:`encode_request` (ignores fields it does not know); parsed with the
    official ``PredictionLog`` when ``tensorflow-serving-api`` is installed."""
    apis = serving_apis()
    if apis is not None:
        try:
            log = apis.PredictionLog.FromString(record)
        except Exception as e:  # noqa: BLE001 - google.protobuf.message.DecodeError
            raise ValueError(f"truncated or malformed warm-up record ({e})") from None
        if log.WhichOneof("log_type") != "predict_log":
            raise ValueError("warm-up record is not a PredictionLog with a predict_log (field 6)")
        if not log.predict_log.HasField("request"):
            raise ValueError("warm-up record's predict_log has no request (field 1)")
        req = log.predict_log.request
        return WarmupRequest(
            req.model_spec.name,
            req.model_spec.signature_name or "serving_default",
            {k: tf.make_ndarray(v) for k, v in req.inputs.items()},
        )
    log = dict(_fields(record))
    if 6 not in log:
        raise ValueError("warm-up record is not a PredictionLog with a predict_log (field 6)")
    predict_log = dict(_fields(log[6]))
    if 1 not in predict_log:
        raise ValueError("warm-up record's predict_log has no request (field 1)")
    name = signature = ""
    inputs: dict[str, np.ndarray] = {}
    for number, value in _fields(predict_log[1]):
        if number == 1:
            spec = dict(_fields(value))
            name = spec.get(1, b"").decode()
            signature = spec.get(3, b"").decode()
        elif number == 2:
            entry = dict(_fields(value))
            proto = tensor_pb2.TensorProto.FromString(entry[2])
            inputs[entry[1].decode()] = tf.make_ndarray(proto)
    return WarmupRequest(name, signature or "serving_default", inputs)


# ---------------------------------------------------------------------- files
def write_warmup_file(version_dir: str | os.PathLike, requests: Iterable[WarmupRequest]) -> str:
    """Write ``<version_dir>/assets.extra/tf_serving_warmup_requests``; returns its path.

    Called on the temporary export directory, which is renamed into place as a whole.
    """
    directory = os.path.join(os.fspath(version_dir), WARMUP_DIR)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for r in requests:
            writer.write(encode_request(r))
    return path


def read_warmup_file(path: str | os.PathLike) -> list[WarmupRequest]:
    """Decode every record of a warm-up file (a version directory is accepted too)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, WARMUP_DIR, WARMUP_FILE)
    return [decode_request(r.numpy()) for r in tf.data.TFRecordDataset(path)]


def request(model_name: str, signature: str, inputs: Mapping[str, np.ndarray]) -> WarmupRequest:
    """A ``WarmupRequest`` with inputs converted to numpy arrays."""
    return WarmupRequest(model_name, signature, {k: np.asarray(v) for k, v in inputs.items()})
