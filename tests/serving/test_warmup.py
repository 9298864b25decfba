"""Hand-encoded PredictionLog records: exact bytes for a small message, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.serving.warmup import (
    WarmupRequest,
    _varint,
    decode_request,
    encode_request,
    read_warmup_file,
    write_warmup_file,
)


def test_varint_known_values():
    assert _varint(0) == b"\x00"
    assert _varint(1) == b"\x01"
    assert _varint(127) == b"\x7f"
    assert _varint(300) == b"\xac\x02"  # the protobuf documentation's example
    with pytest.raises(ValueError):
        _varint(-1)


def test_encoding_matches_hand_computed_bytes():
    req = WarmupRequest("m", "s", {"x": np.array([1.5], np.float32)})
    tensor = tf.make_tensor_proto(np.array([1.5], np.float32)).SerializeToString()
    spec = b"\x0a\x01m" + b"\x1a\x01s"  # ModelSpec: name = 1, signature_name = 3
    entry = b"\x0a\x01x" + b"\x12" + bytes([len(tensor)]) + tensor  # map entry key=1 value=2
    body = b"\x0a" + bytes([len(spec)]) + spec + b"\x12" + bytes([len(entry)]) + entry
    predict_log = b"\x0a" + bytes([len(body)]) + body  # PredictLog.request = 1
    want = b"\x32" + bytes([len(predict_log)]) + predict_log  # PredictionLog.predict_log = 6
    assert encode_request(req) == want


def test_round_trip_through_tfrecord(tmp_path):
    reqs = [
        WarmupRequest(
            "sli_rec",
            "serving_default",
            {
                "user": np.array([b"u1", b"u2"], object),
                "time_history": np.array([[1.0, 2.0], [3.0, 0.0]]),
                "history_length": np.array([2, 1], np.int32),
            },
        ),
        WarmupRequest("sli_rec", "recommend", {"exclude_history": np.array(True)}),
    ]
    path = write_warmup_file(tmp_path, reqs)
    assert path == str(tmp_path / "assets.extra" / "tf_serving_warmup_requests")
    assert sum(1 for _ in tf.data.TFRecordDataset(path)) == 2
    back = read_warmup_file(tmp_path)
    assert [(r.model_name, r.signature_name) for r in back] == [
        ("sli_rec", "serving_default"),
        ("sli_rec", "recommend"),
    ]
    for got, want in zip(back, reqs):
        assert sorted(got.inputs) == sorted(want.inputs)
        for k, v in want.inputs.items():
            assert got.inputs[k].dtype == v.dtype or v.dtype == object
            np.testing.assert_array_equal(got.inputs[k], v)


def test_decoder_rejects_other_logs():
    with pytest.raises(ValueError, match="predict_log"):
        decode_request(b"\x12\x00")  # a classify_log (field 2), not a predict_log
    with pytest.raises(ValueError, match="truncated"):
        decode_request(b"\x32\x05\x0a")


def test_official_protos_give_the_same_bytes_and_parse_back():
    """With tensorflow-serving-api installed, records are its ``PredictionLog`` (deterministic
    serialisation), byte-identical to the fallback wire encoder."""
    apis = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    req = WarmupRequest(
        "clsr",
        "score_candidates",
        {
            "user": np.array(b"u1", object),
            "time": np.array(3.0),
            "item_history": np.array([b"a", b"b"], object),
            "candidate_items": np.array([b"c"], object),
        },
    )
    official = encode_request(req, official=True)
    assert official == encode_request(req, official=False)
    log = apis.PredictionLog.FromString(official)
    assert log.predict_log.request.model_spec.signature_name == "score_candidates"
    assert sorted(log.predict_log.request.inputs) == sorted(req.inputs)
    back = decode_request(official)
    np.testing.assert_array_equal(back.inputs["item_history"], req.inputs["item_history"])
