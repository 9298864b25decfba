"""CLSR's contrastive self-supervision (docs/reference.md §7.10; paper §3.2.4).

With anchor ``a``, positive ``p`` and negative ``q`` (all ``[B, D]``), one of

* ``bpr``:  ``f = softplus(⟨a, q⟩ − ⟨a, p⟩)``                               (paper = code)
* ``triplet``, ``form="per_dimension"`` (official code, default):
  ``f = Σ_d max(0, (a_d − p_d)² − (a_d − q_d)² + m)`` — hinge *and* margin per coordinate;
* ``triplet``, ``form="vector"`` (the paper's ``max(d(a,p) − d(a,q) + m, 0)``), with ``d`` the
  **squared** Euclidean distance: ``f = max(0, ‖a − p‖² − ‖a − q‖² + m)``. The paper names
  the Euclidean distance; the squared one is used here because it is the quantity the
  official code works with (the two triplet forms agree whenever no coordinate's hinge is
  active except through the sum) and it has no ``sqrt`` gradient singularity at ``a = p``.

CLSR's four terms, numbered as the official code computes them (the paper lists them in the
order 1, 3, 2, 4: long interest, long proxy, short interest, short proxy as anchors):

1. ``f(I_L, P_L, P_S)`` long-term interest closer to the long proxy than to the short proxy;
2. ``f(I_S, P_S, P_L)`` short-term interest closer to the short proxy;
3. ``f(P_L, I_L, I_S)`` long proxy closer to the long interest than to the short interest;
4. ``f(P_S, I_S, I_L)`` short proxy closer to the short interest.

Each term is a masked mean over rows, ``Σ_b c_b f_b / Σ_b c_b`` with ``c_b = [ℓ_b > threshold]``;
when no row qualifies the term is **0** (the official code divides 0 by 0 and gets NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

CONTRASTIVE_LOSSES = ("bpr", "triplet")
TRIPLET_FORMS = ("per_dimension", "vector")
PAIRS = (1, 2, 3, 4)


def bpr_contrastive(a: tf.Tensor, p: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
    """``softplus(⟨a, q⟩ − ⟨a, p⟩)`` per row: ``[B, D]`` x3 -> ``[B]``."""
    return tf.nn.softplus(tf.reduce_sum(a * q, -1) - tf.reduce_sum(a * p, -1))


def triplet_per_dimension(a: tf.Tensor, p: tf.Tensor, q: tf.Tensor, margin: float) -> tf.Tensor:
    """Official-code triplet: ``Σ_d max(0, (a_d − p_d)² − (a_d − q_d)² + margin)``; ``[B]``."""
    return tf.reduce_sum(tf.nn.relu(tf.square(a - p) - tf.square(a - q) + margin), -1)


def triplet_vector(a: tf.Tensor, p: tf.Tensor, q: tf.Tensor, margin: float) -> tf.Tensor:
    """Paper triplet with squared Euclidean distance: ``max(0, ‖a−p‖² − ‖a−q‖² + margin)``;
    ``[B]``."""
    d_pos = tf.reduce_sum(tf.square(a - p), -1)
    d_neg = tf.reduce_sum(tf.square(a - q), -1)
    return tf.nn.relu(d_pos - d_neg + margin)


def contrastive_fn(loss: str, form: str = "per_dimension", margin: float = 1.0):
    """The per-row function ``f(a, p, q) -> [B]`` for a ``contrastive_loss`` / ``triplet_form``."""
    if loss == "bpr":
        return bpr_contrastive
    if loss != "triplet":
        raise ValueError(f"contrastive loss {loss!r} not in {list(CONTRASTIVE_LOSSES)}")
    if form == "per_dimension":
        return lambda a, p, q: triplet_per_dimension(a, p, q, margin)
    if form == "vector":
        return lambda a, p, q: triplet_vector(a, p, q, margin)
    raise ValueError(f"triplet form {form!r} not in {list(TRIPLET_FORMS)}")


def length_mask(mask: tf.Tensor, threshold: int) -> tf.Tensor:
    """``c_b = 1`` if the row's kept length ``ℓ_b = Σ_j mask_bj`` is **greater** than
    ``threshold`` (``contrastive_length_threshold``), else 0. ``[B, L]`` -> ``[B]`` float32."""
    length = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)
    return tf.cast(length > float(threshold), tf.float32)


def masked_row_mean(values: tf.Tensor, row_mask: tf.Tensor) -> tf.Tensor:
    """``Σ_b c_b v_b / Σ_b c_b``, and 0 (not NaN) when ``Σ_b c_b = 0``. ``[B]``, ``[B]`` -> ``[]``.

    Rows with ``c_b = 0`` contribute nothing to the value, even if theirs is inf/NaN.
    """
    c = tf.cast(row_mask, values.dtype)
    kept = tf.where(c > 0, values, tf.zeros_like(values))
    return tf.math.divide_no_nan(tf.reduce_sum(kept * c), tf.reduce_sum(c))


def clsr_contrastive_terms(
    long_interest: tf.Tensor,
    short_interest: tf.Tensor,
    long_proxy: tf.Tensor,
    short_proxy: tf.Tensor,
    row_mask: tf.Tensor,
    loss: str = "triplet",
    form: str = "per_dimension",
    margin: float = 1.0,
    pairs: Sequence[int] = PAIRS,
) -> dict[int, tf.Tensor]:
    """The selected CLSR contrastive terms, each a guarded masked mean (unweighted).

    Args:
      long_interest: ``I_L [B, D]``. short_interest: ``I_S [B, D]``.
      long_proxy: ``P_L [B, D]``. short_proxy: ``P_S [B, D]``.
      row_mask: ``[B]`` 1 for rows that take part (see :func:`length_mask`).
      loss: ``"bpr"`` or ``"triplet"``. form: triplet form. margin: triplet margin.
      pairs: subset of ``(1, 2, 3, 4)`` (module docstring numbering).

    Returns:
      ``{k: scalar}`` for each selected term ``k``.
    """
    bad = [p for p in pairs if p not in PAIRS]
    if bad or not pairs:
        raise ValueError(f"contrastive pairs {list(pairs)}: expected a non-empty subset of {PAIRS}")
    f = contrastive_fn(loss, form, margin)
    triples = {
        1: (long_interest, long_proxy, short_proxy),
        2: (short_interest, short_proxy, long_proxy),
        3: (long_proxy, long_interest, short_interest),
        4: (short_proxy, short_interest, long_interest),
    }
    return {k: masked_row_mean(f(*triples[k]), row_mask) for k in sorted(set(pairs))}


@keras.utils.register_keras_serializable(package="tf_lsrec")
class CLSRContrastiveLoss(keras.layers.Layer):
    """``weight × Σ_k term_k`` over the selected CLSR contrastive terms (no variables).

    Args:
      loss: ``"bpr"`` or ``"triplet"`` (``contrastive_loss``; ``"none"`` means: do not build
        this layer).
      form: ``"per_dimension"`` (official code) or ``"vector"`` (paper), triplet only.
      margin: triplet margin ``m`` (``triplet_margin``).
      pairs: which of the four terms (``contrastive_pairs``).
      weight: ``contrastive_loss_weight`` (official script 0.1).
      length_threshold: rows with ``ℓ <= length_threshold`` contribute nothing.

    Call args:
      long_interest, short_interest, long_proxy, short_proxy: ``[B, D]`` each.
      mask: ``[B, L]`` history mask (gives ``ℓ``).

    Returns:
      ``(loss [], terms {k: []})``: the weighted sum and the unweighted terms.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.contrastive import CLSRContrastiveLoss
      >>> layer = CLSRContrastiveLoss("triplet", margin=1.0, weight=0.1, length_threshold=0)
      >>> z = tf.zeros([2, 3])
      >>> float(layer(z, z, z, z, tf.ones([2, 4]))[0])  # 4 terms x 3 dims x margin 1, x 0.1
      1.2000000476837158
    """

    def __init__(
        self,
        loss: str = "triplet",
        form: str = "per_dimension",
        margin: float = 1.0,
        pairs: Sequence[int] = PAIRS,
        weight: float = 0.1,
        length_threshold: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        contrastive_fn(loss, form, margin)  # validates the names
        self.loss = loss
        self.form = form
        self.margin = float(margin)
        self.pairs = [int(p) for p in pairs]
        bad = [p for p in self.pairs if p not in PAIRS]
        if bad or not self.pairs:
            raise ValueError(
                f"CLSRContrastiveLoss: pairs {list(pairs)}; expected a non-empty subset of {PAIRS}"
            )
        self.weight = float(weight)
        self.length_threshold = int(length_threshold)

    def call(
        self,
        long_interest: tf.Tensor,
        short_interest: tf.Tensor,
        long_proxy: tf.Tensor,
        short_proxy: tf.Tensor,
        mask: tf.Tensor,
    ) -> tuple[tf.Tensor, dict[int, tf.Tensor]]:
        rows = length_mask(mask, self.length_threshold)
        terms = clsr_contrastive_terms(
            long_interest,
            short_interest,
            long_proxy,
            short_proxy,
            tf.cast(rows, long_interest.dtype),
            self.loss,
            self.form,
            self.margin,
            self.pairs,
        )
        return self.weight * tf.add_n(list(terms.values())), terms

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "loss": self.loss,
            "form": self.form,
            "margin": self.margin,
            "pairs": list(self.pairs),
            "weight": self.weight,
            "length_threshold": self.length_threshold,
        }
