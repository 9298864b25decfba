"""Reusable Keras 2 (``tf_keras``) layers of the sequential recommenders.

Contracts (shapes) are in docs/architecture.md ("Layers") and in each class's docstring.
"""

from tf_lsrec.layers.attention import (
    AttentionPooling,
    BilinearAttention,
    PlainAttention,
    masked_softmax,
)
from tf_lsrec.layers.dice import Dice
from tf_lsrec.layers.initializers import fresh_initializer, get_initializer
from tf_lsrec.layers.mlp import MLP
from tf_lsrec.layers.rnn_cells import TF1GRUCell, TF1LSTMCell, Time4LSTMCell, VecAttGRUCell
from tf_lsrec.layers.sequence_encoder import SequenceEncoder

__all__ = [
    "MLP",
    "AttentionPooling",
    "BilinearAttention",
    "Dice",
    "PlainAttention",
    "SequenceEncoder",
    "TF1GRUCell",
    "TF1LSTMCell",
    "Time4LSTMCell",
    "VecAttGRUCell",
    "fresh_initializer",
    "get_initializer",
    "masked_softmax",
]
