"""Attention pooling layers over a history (docs/reference.md §5.1).

* :class:`AttentionPooling` — the reference's ``_attention_fcn`` (SLi-Rec, DIN, DIEN, CLSR).
* :class:`PlainAttention` — the reference's ``_attention`` (A2SVD, SLi-Rec long-term), which by
  default attends over *all* ``L`` positions, padding included (reference quirk).
* :class:`BilinearAttention` — ``score_j = k_j W q`` with a masked softmax (SLSRec).

All return ``(pooled [B, D], weights [B, L])``, where ``pooled = sum_j weights_j * keys_j``
uses the **raw** (un-projected) keys.

Masking: the reference gives masked positions the score ``-(2**32) + 1``; here they get the
most negative finite value of the score dtype (``float32``: about ``-3.4e38``; also valid
in ``float16``), and the softmax output is multiplied by the mask, so masked positions get
exactly zero weight and a row whose mask is all zero gets all-zero weights and a zero pooled
vector instead of the reference's uniform weights over padding (no NaN either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.initializers import fresh_initializer, serialize_initializer
from tf_lsrec.layers.mlp import MLP


def masked_softmax(scores: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """Softmax over the last axis that gives masked positions exactly zero weight.

    Args:
      scores: ``[B, L]`` float scores.
      mask: ``[B, L]`` (bool, or numeric with 1 = keep, 0 = padding) or ``None`` (no mask);
        any shape that broadcasts to ``scores``' (e.g. ``[B, 1, L]`` for ``[B, G, L]`` scores).

    Returns:
      ``[B, L]`` weights, rows summing to 1, or to 0 when a row's mask is all zero.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> masked_softmax(tf.constant([[0.0, 0.0, 5.0]]), tf.constant([[1.0, 1.0, 0.0]])).numpy()
      array([[0.5, 0.5, 0. ]], dtype=float32)
    """
    if mask is None:
        return tf.nn.softmax(scores, axis=-1)
    mask = tf.convert_to_tensor(mask)
    keep = mask if mask.dtype == tf.bool else tf.cast(mask, tf.bool)
    floor = tf.fill(tf.shape(scores), tf.constant(scores.dtype.min, dtype=scores.dtype))
    weights = tf.nn.softmax(tf.where(keep, scores, floor), axis=-1)
    return weights * tf.cast(keep, weights.dtype)


def _weighted_sum(weights: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """``[B, L]`` weights x ``[B, L, D]`` keys -> ``[B, D]`` (a batched mat-vec product, which
    never materialises the ``[B, L, D]`` products)."""
    return tf.einsum("bl,bld->bd", weights, keys)


class _QueryKeysLayer(keras.layers.Layer):
    """Base for layers called as ``layer(query [B, Q], keys [B, L, D], mask [B, L])``.

    Keras passes only the first call argument's shape to ``build``, so ``__call__`` records the
    key dimension before delegating; ``build`` also accepts ``[query_shape, keys_shape]``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self._keys_dim: int | None = None

    def __call__(self, query: Any, keys: Any, mask: Any = None, **kwargs: Any) -> Any:
        if not self.built and getattr(keys, "shape", None) is not None:
            self._keys_dim = int(keys.shape[-1])
        return super().__call__(query, keys, mask=mask, **kwargs)

    def _shapes(self, input_shape: Any) -> tuple[tf.TensorShape, int]:
        if isinstance(input_shape, (list, tuple)) and len(input_shape) == 2:
            first = input_shape[0]
            if first is None or isinstance(first, (list, tuple, tf.TensorShape)):
                return tf.TensorShape(first), int(tf.TensorShape(input_shape[1])[-1])
        if self._keys_dim is None:
            raise ValueError(
                f"{type(self).__name__}.build needs the keys' last dimension: call the layer "
                "as layer(query, keys, mask) or build it with [query_shape, keys_shape]"
            )
        return tf.TensorShape(input_shape), self._keys_dim

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_build_config(self) -> dict[str, Any] | None:
        config = super().get_build_config()
        if config is not None:
            config = {**config, "keys_dim": self._keys_dim}
        return config

    def build_from_config(self, config: dict[str, Any]) -> None:
        self._keys_dim = config.get("keys_dim")
        super().build_from_config(config)


@keras.utils.register_keras_serializable(package="tf_lsrec")
class AttentionPooling(_QueryKeysLayer):
    """The reference's ``_attention_fcn``: MLP-scored, masked attention pooling (§5.1).

    1. ``V = keys @ W_a`` with ``W_a [D, Q]`` (``kernel_initializer``);
    2. ``z = [V ; q ; V - q ; V * q]`` with ``q`` tiled over time -> ``[B, L, 4Q]``;
    3. ``s = MLP(att_fcn_layer_sizes)(z)`` with a 1-unit output -> ``[B, L]`` (the first Dense
       layer is evaluated in a factorised form, without materialising ``z``);
    4. ``weights = masked_softmax(s, mask)`` (see module docstring);
    5. ``pooled = sum_j weights_j * keys_j`` (raw keys).

    Each instance owns its variables (the reference scopes each call site separately).

    **Grouped queries**: ``query`` may have ``G`` rows per history, ``[B*G, Q]`` with the
    ``G`` queries of history ``b`` at rows ``b*G .. b*G+G-1`` (a training line's positive and
    negatives, an evaluation group, a user's candidates). The key side is then computed once per
    history and broadcast over its ``G`` queries instead of being repeated; the results equal
    those of the keys repeated ``G`` times (up to float rounding).

    Args:
      att_fcn_layer_sizes: hidden sizes of the scoring MLP, e.g. ``[80, 40]``.
      activations: the MLP's activations (see :class:`~tf_lsrec.layers.mlp.MLP`).
      dropout_rates: the MLP's dropout rates or ``None``.
      use_bn: batch normalisation inside the scoring MLP (statistics pooled over ``B*L``,
        padding included, as in the reference).
      kernel_initializer: initializer of ``W_a`` and of the MLP kernels.

    Call args:
      query: ``[B*G, Q]`` (``G >= 1``, see above), or ``[B, L, Q]`` for one query per step
        (the reference's ``_attention_fcn`` takes both). keys: ``[B, L, D]``. mask: ``[B, L]``
        (1 keep / 0 pad) or ``None``. training: forwarded to the MLP (BN, dropout).
      encoded_keys: :meth:`encode_keys` of ``keys``, when computed beforehand.

    Returns:
      ``(pooled [B*G, D], weights [B*G, L])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.attention import AttentionPooling
      >>> att = AttentionPooling([8, 4], ["relu", "relu"])
      >>> pooled, w = att(tf.ones([2, 3]), tf.ones([2, 5, 6]), tf.ones([2, 5]))
      >>> pooled.shape, w.shape
      (TensorShape([2, 6]), TensorShape([2, 5]))
    """

    def __init__(
        self,
        att_fcn_layer_sizes: Sequence[int],
        activations: Sequence[str] | str,
        dropout_rates: Sequence[float] | float | None = None,
        use_bn: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.att_fcn_layer_sizes = [int(s) for s in att_fcn_layer_sizes]
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.mlp = MLP(
            self.att_fcn_layer_sizes,
            activations,
            dropout_rates=dropout_rates,
            use_bn=use_bn,
            output_units=1,
            kernel_initializer=self.kernel_initializer,
            name=f"{self.name}_att_fcn",
        )

    def build(self, input_shape: Any) -> None:
        query_shape, keys_dim = self._shapes(input_shape)
        q_dim = int(query_shape[-1])
        self.kernel = self.add_weight(
            name="att_kernel",
            shape=(keys_dim, q_dim),
            initializer=fresh_initializer(self.kernel_initializer, f"{self.name}/att_kernel"),
            trainable=True,
        )
        self.mlp.build(tf.TensorShape([None, None, 4 * q_dim]))
        super().build(query_shape)

    def encode_keys(
        self, keys: tf.Tensor, query_prefix: tf.Tensor | None = None
    ) -> dict[str, tf.Tensor]:
        """The query-independent part of :meth:`call` for ``keys [B, L, D]`` (layer built):
        ``projected = keys @ W_a`` ``[B, L, Q]`` and its term of the MLP's first Dense layer,
        ``key_part [B, L, U]``. Pass it back as ``call(..., encoded_keys=...)`` to score many
        queries against one history without recomputing it.

        ``query_prefix [B, P]``: the first ``P`` query dimensions when they are the same for
        every query to come (CLSR's ``[q_S ; e_t]``: ``q_S`` is per user). Their share of the
        ``V * q`` term is then added to ``key_part`` here, and ``call`` multiplies only the
        last ``Q - P`` dimensions per query (the queries must start with this prefix)."""
        projected = tf.einsum("bld,dq->blq", keys, tf.cast(self.kernel, keys.dtype))
        w_v, _, w_d, w_p = self._first_kernel_blocks(keys.dtype)
        key_part = tf.einsum("blq,qu->blu", projected, w_v + w_d)
        if query_prefix is None:
            return {"projected": projected, "key_part": key_part}
        p = int(query_prefix.shape[-1])
        prefix_cross = tf.einsum(
            "blq,qu->blu", projected[..., :p] * tf.expand_dims(query_prefix, 1), w_p[:p]
        )
        return {"projected_suffix": projected[..., p:], "key_part": key_part + prefix_cross}

    def _first_kernel_blocks(self, dtype) -> list[tf.Tensor]:
        """The MLP's first kernel ``[4Q, U]`` as the four ``[Q, U]`` blocks that multiply
        ``V``, ``q``, ``V - q`` and ``V * q``."""
        return tf.split(tf.cast(self.mlp.first_dense.kernel, dtype), 4, axis=0)

    def call(
        self,
        query: tf.Tensor,
        keys: tf.Tensor,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
        encoded_keys: dict[str, tf.Tensor] | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        # The first Dense layer of the MLP on z = [V ; q ; V - q ; V * q] is computed factorised:
        # z W = V (W_v + W_d) + q (W_q - W_d) + (V * q) W_p, which never builds the [B, L, 4Q]
        # concatenation and multiplies a quarter of it per (row, position).
        # The query side is [B, G, ...]: G queries per history, broadcast against its keys.
        if encoded_keys is None:
            encoded_keys = self.encode_keys(keys)
        dtype = encoded_keys["key_part"].dtype
        _, w_q, w_d, w_p = self._first_kernel_blocks(dtype)
        first = self.mlp.first_dense
        histories = tf.shape(keys)[0]
        query_rows = query.shape[0]
        if query.shape.rank == 3:  # one query per step (SURGE's cluster-aware attention)
            if "projected_suffix" in encoded_keys:
                raise ValueError(f"{self.name}: a query prefix needs one query per row [B, Q]")
            query_part = tf.expand_dims(tf.einsum("blq,qu->blu", query, w_q - w_d), 1)
            grouped_query = tf.expand_dims(query, 1)  # [B, 1, L, Q]
        else:
            query_part = tf.matmul(query, w_q - w_d)  # [B*G, U]
            query_part = tf.reshape(query_part, [histories, -1, 1, query_part.shape[-1]])
            grouped_query = tf.reshape(query, [histories, -1, 1, query.shape[-1]])  # [B, G, 1, Q]
        if first.use_bias:
            query_part += tf.cast(first.bias, query_part.dtype)
        if "projected_suffix" in encoded_keys:  # the prefix's cross term is in key_part
            projected = encoded_keys["projected_suffix"]
            grouped_query = grouped_query[..., -int(projected.shape[-1]) :]
        else:
            projected = encoded_keys["projected"]
        cross = tf.einsum(
            "bglq,qu->bglu",
            tf.expand_dims(projected, 1) * grouped_query,
            w_p[-int(grouped_query.shape[-1]) :],
        )
        hidden = tf.expand_dims(encoded_keys["key_part"], 1) + cross + query_part  # [B, G, L, U]
        scores = tf.squeeze(self.mlp.call_after_first_dense(hidden, training=training), axis=-1)
        weights = masked_softmax(scores, None if mask is None else tf.expand_dims(mask, 1))
        pooled = tf.einsum("bgl,bld->bgd", weights, keys)  # [B, G, D]
        rows = tf.shape(weights)[0] * tf.shape(weights)[1]
        pooled = tf.reshape(pooled, [rows, keys.shape[-1]])
        weights = tf.reshape(weights, [rows, tf.shape(weights)[2]])
        weights.set_shape([query_rows, keys.shape[1]])
        pooled.set_shape([query_rows, keys.shape[-1]])
        return pooled, weights

    def get_config(self) -> dict[str, Any]:
        mlp = self.mlp.get_config()
        return {
            **super().get_config(),
            "att_fcn_layer_sizes": list(self.att_fcn_layer_sizes),
            "activations": mlp["activations"],
            "dropout_rates": mlp["dropout_rates"],
            "use_bn": mlp["use_bn"],
            "kernel_initializer": self.kernel_initializer,
        }


@keras.utils.register_keras_serializable(package="tf_lsrec")
class BilinearAttention(_QueryKeysLayer):
    """Bilinear attention pooling: ``score_j = k_j W q``, masked softmax, weighted sum.

    Args:
      kernel_initializer: initializer of ``W [D, Q]``.

    Call args:
      query: ``[B, Q]``. keys: ``[B, L, D]``. mask: ``[B, L]`` (1 keep / 0 pad) or ``None``.

    Returns:
      ``(pooled [B, D], weights [B, L])`` with ``pooled = sum_j weights_j * keys_j``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.attention import BilinearAttention
      >>> pooled, w = BilinearAttention()(tf.ones([2, 3]), tf.ones([2, 5, 6]), tf.ones([2, 5]))
      >>> pooled.shape, w.shape
      (TensorShape([2, 6]), TensorShape([2, 5]))
    """

    def __init__(self, kernel_initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_initializer = serialize_initializer(kernel_initializer)

    def build(self, input_shape: Any) -> None:
        query_shape, keys_dim = self._shapes(input_shape)
        self.kernel = self.add_weight(
            name="bilinear_kernel",
            shape=(keys_dim, int(query_shape[-1])),
            initializer=fresh_initializer(self.kernel_initializer, f"{self.name}/kernel"),
            trainable=True,
        )
        super().build(query_shape)

    def call(
        self, query: tf.Tensor, keys: tf.Tensor, mask: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        kernel = tf.cast(self.kernel, keys.dtype)
        scores = tf.einsum("bld,dq,bq->bl", keys, kernel, query)
        weights = masked_softmax(scores, mask)
        return _weighted_sum(weights, keys), weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_initializer": self.kernel_initializer}


@keras.utils.register_keras_serializable(package="tf_lsrec")
class PlainAttention(keras.layers.Layer):
    """The reference's ``_attention``: ``a = softmax_j((X_j W) . q)`` (A2SVD, SLi-Rec long-term).

    ``W [D, D]`` and the query vector ``q [D]`` use ``kernel_initializer``. **Quirk**: with
    ``use_mask=False`` (the default, as the reference) the softmax runs over all ``L``
    positions, padding included; ``use_mask=True`` applies :func:`masked_softmax`.

    Args:
      attention_size: size of ``q``; must equal ``D`` (the reference requires it and falls
        back to ``D`` when unset, as does ``None`` here).
      use_mask: mask padding positions out of the softmax (fixed behaviour).
      kernel_initializer: initializer of ``W`` and ``q``.

    Call args:
      inputs: ``[B, L, D]``. mask: ``[B, L]`` (1 keep / 0 pad); ignored unless ``use_mask``.

    Returns:
      ``(pooled [B, D], weights [B, L])`` with ``pooled = sum_j weights_j * inputs_j``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.attention import PlainAttention
      >>> pooled, w = PlainAttention()(tf.ones([2, 5, 6]), tf.ones([2, 5]))
      >>> pooled.shape, w.shape
      (TensorShape([2, 6]), TensorShape([2, 5]))
    """

    def __init__(
        self,
        attention_size: int | None = None,
        use_mask: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.attention_size = None if attention_size is None else int(attention_size)
        self.use_mask = bool(use_mask)
        self.kernel_initializer = serialize_initializer(kernel_initializer)

    def build(self, input_shape: tf.TensorShape) -> None:
        dim = int(tf.TensorShape(input_shape)[-1])
        if self.attention_size is not None and self.attention_size != dim:
            raise ValueError(
                f"PlainAttention: attention_size={self.attention_size} but the inputs' last "
                f"dimension is {dim}; the reference requires attention_size == D "
                "(leave attention_size unset to use D)"
            )
        self.kernel = self.add_weight(
            name="attention_mat",
            shape=(dim, dim),
            initializer=fresh_initializer(self.kernel_initializer, f"{self.name}/kernel"),
            trainable=True,
        )
        self.query = self.add_weight(
            name="attention_query",
            shape=(dim,),
            initializer=fresh_initializer(self.kernel_initializer, f"{self.name}/query"),
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, mask: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        kernel = tf.cast(self.kernel, inputs.dtype)
        query = tf.cast(self.query, inputs.dtype)
        # (X W) q == X (W q): contracting W with q first is one [D, D] x [D] product per call
        # instead of a [B*L, D] x [D, D] one (same result up to float rounding).
        scores = tf.einsum("bld,d->bl", inputs, tf.linalg.matvec(kernel, query))
        weights = masked_softmax(scores, mask if self.use_mask else None)
        return _weighted_sum(weights, inputs), weights

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "attention_size": self.attention_size,
            "use_mask": self.use_mask,
            "kernel_initializer": self.kernel_initializer,
        }
