"""Expose ``tests/layers/layer_test_base.run_layer_test`` as the ``run_layer_test`` fixture.

Tests run with ``--import-mode=importlib`` (no packages), so the helper module is loaded by
path here rather than imported by name from each test file.
"""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "tf_lsrec_tests_layer_test_base", Path(__file__).with_name("layer_test_base.py")
)
layer_test_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layer_test_base)


@pytest.fixture
def run_layer_test():
    """The ``run_layer_test(layer_cls, init_kwargs, inputs, expected_output_shape)`` helper."""
    return layer_test_base.run_layer_test
