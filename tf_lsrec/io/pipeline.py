"""``tf.data`` pipelines over 8-column sequential files (docs/reference.md §2.4, §2.5).

Lines are streamed with ``TextLineDataset``, batched first and parsed per batch with vectorised
ops (``decode_csv``, ``tf.strings.split``, hash-table lookups, ragged time features). Training
draws its negatives in the graph with stateless random ops: in-batch (Microsoft's, §2.5) or
uniform over the item catalogue (``train_negatives``). Every batch follows the
batch contract of docs/architecture.md and has static shapes.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import tensorflow as tf

from tf_lsrec.hparams import HParamsError
from tf_lsrec.io import format as fmt
from tf_lsrec.io.catalogue_index import CatalogueIndex
from tf_lsrec.io.features import build_features, time_divisor
from tf_lsrec.io.lookup import VocabLookup
from tf_lsrec.io.validate import FileStats, SequentialFormatError, validate_file

__all__ = [
    "FileStats",
    "SequentialData",
    "SequentialFormatError",
    "parse_lines",
    "pick_negatives",
    "sample_negatives",
    "refuse_uniform_negatives",
    "uniform_negatives",
    "validate_file",
]

log = logging.getLogger(__name__)
# file versions ((abs path, size, mtime)) whose unknown ids were already reported in this
# process: several models (or a train and an eval pipeline) reading one file warn once
_UNKNOWN_IDS_REPORTED: set[tuple] = set()

# decode_csv defaults by field position (io/format.py): numbers for label and timestamp
_RECORD_DEFAULTS = [tf.constant([], tf.string)] * fmt.N_FIELDS
_RECORD_DEFAULTS[fmt.LABEL] = tf.constant([], tf.float32)
_RECORD_DEFAULTS[fmt.TIMESTAMP] = tf.constant([], tf.float64)
_FILTER_CHUNK = 4096


def parse_lines(lines: tf.Tensor) -> dict[str, Any]:
    """Parse a batch of 8-column lines (string ``[B]``) into the raw dict of ``build_features``.

    Returns ``labels`` float32 ``[B]``, ``users``/``items``/``cates`` string ``[B]``, ``time``
    float64 ``[B]``, ``item_history``/``cate_history`` ragged string ``[B, (n)]`` and
    ``time_history`` ragged float64 ``[B, (n)]``.
    """
    f = tf.io.decode_csv(
        lines, _RECORD_DEFAULTS, field_delim=fmt.FIELD_SEPARATOR, use_quote_delim=False
    )

    def history(i):
        return tf.strings.split(f[i], fmt.HISTORY_SEPARATOR)

    return {
        "labels": f[fmt.LABEL],
        "users": f[fmt.USER],
        "items": f[fmt.ITEM],
        "cates": f[fmt.CATEGORY],
        "time": f[fmt.TIMESTAMP],
        "item_history": history(fmt.ITEM_HISTORY),
        "cate_history": history(fmt.CATEGORY_HISTORY),
        "time_history": tf.strings.to_number(history(fmt.TIME_HISTORY), tf.float64),
    }


def _history_lengths(lines: tf.Tensor) -> tf.Tensor:
    """Untruncated history length of each line (string ``[B]`` -> int64 ``[B]``)."""
    fields = tf.strings.split(lines, fmt.FIELD_SEPARATOR)
    column = fields[:, fmt.ITEM_HISTORY : fmt.ITEM_HISTORY + 1]
    hist = column.to_tensor(default_value="", shape=[None, 1])[:, 0]
    return tf.strings.split(hist, fmt.HISTORY_SEPARATOR).row_lengths()


def sample_negatives(
    items: tf.Tensor, num_ngs: int, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """In-batch negatives of §2.5, exactly distributed as Microsoft's rejection sampling.

    For each instance ``i`` draws ``num_ngs`` indices uniformly, with replacement, among the
    batch instances ``r`` with ``items[r] != items[i]`` (:func:`pick_negatives`).

    Args:
        items: int32 ``[N]`` target item indices of the batch.
        num_ngs: ``K``.
        seed: int ``[2]`` seed of the stateless random op.

    Returns:
        ``(indices int32 [N, K], has_negative bool [N])``. Where an instance has no valid
        negative (every target in the batch equals it) its indices are 0 and ``has_negative``
        is False; the caller substitutes a fallback and counts it.
    """
    n = tf.shape(items)[0]
    u = tf.random.stateless_uniform([n, num_ngs], seed=seed, dtype=tf.float32)
    return pick_negatives(items, items, u)


def pick_negatives(
    pool: tf.Tensor, queries: tf.Tensor, u: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Indices into ``pool`` uniformly among the entries that differ from each query.

    Picking the ``floor(u · count)``-th differing entry is what rejection sampling ("draw a
    pool entry, redraw while it equals the query") converges to, without a loop.

    Args:
        pool: int ``[N]`` candidate item indices (the batch's targets).
        queries: int ``[M]`` the positives the negatives must differ from.
        u: float ``[M, K]`` uniform draws in ``[0, 1)``.

    Returns:
        ``(indices int32 [M, K], has_negative bool [M])``; indices are 0 where a query equals
        every pool entry (``has_negative`` False).
    """
    differs = tf.not_equal(pool[None, :], queries[:, None])  # [M, N]
    cums = tf.cumsum(tf.cast(differs, tf.int32), axis=1)  # [M, N]
    count = cums[:, -1]  # [M]
    rank = tf.cast(tf.floor(u * tf.cast(count[:, None], tf.float32)), tf.int32)
    rank = tf.minimum(rank, tf.maximum(count[:, None] - 1, 0))  # guard float rounding
    idx = tf.searchsorted(cums, rank + 1, side="left", out_type=tf.int32)  # [M, K]
    has_negative = count > 0
    idx = tf.where(has_negative[:, None], idx, tf.zeros_like(idx))
    return idx, has_negative


def uniform_negatives(
    items: tf.Tensor, position: tf.Tensor, pool_size: int, num_ngs: int, seed: tf.Tensor
) -> tf.Tensor:
    """Negatives drawn uniformly from a catalogue of ``pool_size`` items, with replacement,
    never the instance's own target (``train_negatives: uniform``).

    Args:
        items: int32 ``[N]`` target item indices of the batch.
        position: int ``[item vocab size]``, each item index's catalogue position (-1: the
            item is not in the catalogue, e.g. the unknown item 0).
        pool_size: ``n``, catalogue items (>= 2).
        num_ngs: ``K``.
        seed: int ``[2]`` seed of the stateless random op.

    Returns:
        int32 ``[N, K]`` catalogue positions. A target in the catalogue has ``n - 1``
        candidates (its own position is skipped by shifting the draws above it up by one);
        one outside it has all ``n``.
    """
    target_pos = tf.cast(tf.gather(position, items), tf.int32)  # [N]
    in_pool = target_pos >= 0
    candidates = pool_size - tf.cast(in_pool, tf.int32)  # [N]
    u = tf.random.stateless_uniform([tf.shape(items)[0], num_ngs], seed=seed, dtype=tf.float32)
    draw = tf.cast(tf.floor(u * tf.cast(candidates[:, None], tf.float32)), tf.int32)
    draw = tf.minimum(draw, candidates[:, None] - 1)  # guard float rounding
    skip = in_pool[:, None] & (draw >= target_pos[:, None])
    return draw + tf.cast(skip, tf.int32)


def _file_version(path: str) -> tuple:
    """``(absolute path, size, mtime)`` of an existing file: what per-file caches key on."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"sequential data file {path} does not exist")
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


def refuse_uniform_negatives(hparams: Any, model: str) -> None:
    """Raise ``HParamsError`` if ``train_negatives`` is not ``in_batch`` for ``model``, whose
    per-position training negatives are drawn among the batch's targets in the model itself:
    uniform negatives for its line targets only would mix two distributions in one loss."""
    mode = hparams.get("train_negatives") or "in_batch"
    if mode != "in_batch":
        raise HParamsError(
            f"train.train_negatives = {mode!r}: {model} draws its per-position negatives "
            "in-batch; only 'in_batch' is supported"
        )


class SequentialData:
    """Training and evaluation datasets for one set of hyper-parameters and vocabularies.

    Args:
        hparams: an ``HParams`` (``batch_size``, ``eval_batch_size``, ``max_seq_length``,
            ``min_seq_length``, ``train_num_ngs``, ``shuffle_buffer``, ``seed``, ``time_unit``,
            ``time_unit_quirk`` and the vocab paths are read).
        lookup: a ``VocabLookup``; loaded from ``hparams.user_vocab/item_vocab/cate_vocab``
            when None.
    """

    def __init__(self, hparams: Any, lookup: VocabLookup | None = None):
        self.hparams = hparams
        if lookup is None:
            missing = [k for k in ("user_vocab", "item_vocab", "cate_vocab") if not hparams.get(k)]
            if missing:
                raise ValueError(
                    f"SequentialData needs vocab files: hparams {missing} not set (section `data`)"
                )
            lookup = VocabLookup.from_files(
                hparams.user_vocab, hparams.item_vocab, hparams.cate_vocab
            )
        self.lookup = lookup
        self.divisor = time_divisor(hparams)
        self.max_seq_length = int(hparams.max_seq_length)
        # (path, size, mtime) -> {group_size checked: stats}
        self._stats: dict[tuple, dict[int | None, FileStats]] = {}
        self._fallbacks = tf.Variable(0, dtype=tf.int64, trainable=False, name="neg_fallbacks")
        self._negative_pools: dict[tuple, CatalogueIndex] = {}  # file version -> catalogue

    # ------------------------------------------------------------------ bookkeeping
    @property
    def vocab_sizes(self) -> dict[str, int]:
        """Embedding table sizes ``dict(user=, item=, cate=)``."""
        return self.lookup.sizes

    @property
    def negative_fallbacks(self) -> int:
        """Instances so far with no valid in-batch negative (all batch targets equal theirs).

        Their negatives are item 0 / category 0 (the default / unknown row)."""
        return int(self._fallbacks.numpy())

    def file_stats(self, path: str | os.PathLike, group_size: int | None = None) -> FileStats:
        """``validate_file`` once per file version and group layout; logs unknown ids once per
        file version and process (not once per model or pipeline reading it).

        ``group_size``: ``1`` for a training file (positives only), ``num_ngs + 1`` for an
        evaluation file of groups, ``None`` (any 0/1 labels) otherwise; see ``validate_file``.
        Labels are not restricted to 0/1 with ``method: regression``. The statistics do not
        depend on ``group_size`` (only the check does), so a ``None`` request reuses a check
        already made with any group size instead of reading the file again.
        """
        path = os.fspath(path)
        version = _file_version(path)
        checked = self._stats.setdefault(version, {})
        if group_size is None and checked:
            return next(iter(checked.values()))
        if group_size not in checked:
            labels = "numeric" if self.hparams.get("method") == "regression" else "binary"
            stats = validate_file(path, self.lookup, group_size=group_size, labels=labels)
            if any(stats.unknown.values()) and version not in _UNKNOWN_IDS_REPORTED:
                _UNKNOWN_IDS_REPORTED.add(version)
                log.warning(
                    "%s: ids missing from the vocab are mapped to index 0 (Microsoft convention): "
                    "%s",
                    path,
                    stats.unknown_summary(),
                )
            checked[group_size] = stats
        return checked[group_size]

    def negative_pool(self, train_file: str | os.PathLike) -> CatalogueIndex:
        """The catalogue ``train_negatives: uniform`` draws from: every item of the item vocab
        except the default one, with its most frequent category in ``train_file`` (the
        catalogue full-catalogue ranking and the recommend signature use). Built once per file
        version; items without a category in the file get category 0 and are counted in the log.
        """
        # serving.catalogue parses files with this module's parse_lines: import on use
        from tf_lsrec.serving.catalogue import catalogue_from_file

        path = os.fspath(train_file)
        version = _file_version(path)
        if version not in self._negative_pools:
            catalogue = catalogue_from_file(self.lookup.vocab("item"), path)
            pool = CatalogueIndex.from_catalogue(catalogue, self.lookup, self.vocab_sizes["item"])
            if len(pool) < 2:
                raise ValueError(
                    f"train_negatives: uniform: the item vocab has {len(pool)} item(s) besides "
                    "the default; a negative different from the target needs 2"
                )
            log.info(
                "%s: uniform training negatives over %d catalogue items (%d have no category "
                "in the file: category 0)",
                path,
                len(pool),
                catalogue.missing_category,
            )
            self._negative_pools[version] = pool
        return self._negative_pools[version]

    def _filtered(self, ds: tf.data.Dataset, min_len: int) -> tf.data.Dataset:
        def keep(lines):
            return tf.boolean_mask(lines, _history_lengths(lines) >= min_len)

        return ds.batch(_FILTER_CHUNK).map(keep, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    def _lines(
        self, path: str, min_len: int, purpose: str, group_size: int | None = None
    ) -> tuple[tf.data.Dataset, int]:
        stats = self.file_stats(path, group_size)
        ds = tf.data.TextLineDataset(path)
        skipped = stats.lines_shorter_than(min_len)
        if skipped:
            log.info(
                "%s (%s): %d of %d lines skipped (history shorter than min_seq_length=%d)",
                path,
                purpose,
                skipped,
                stats.lines,
                min_len,
            )
            ds = self._filtered(ds, min_len)
        return ds, stats.lines - skipped

    # ------------------------------------------------------------------ training
    def train_dataset(
        self,
        file: str | os.PathLike,
        num_ngs: int | None = None,
        seed: int | None = None,
        shuffle: bool = True,
    ) -> tf.data.Dataset:
        """Training batches with ``B = batch_size * (K + 1)`` rows.

        Lines are shuffled (``shuffle_buffer``, 0 = whole file; reshuffled each iteration),
        filtered by ``min_seq_length``, grouped into ``batch_size`` instances (the remainder
        is dropped and reported), and each instance becomes ``K + 1`` rows: the positive, then
        ``K`` negatives. The negatives follow ``hparams.train_negatives``: ``in_batch``
        (default, Microsoft's §2.5: other instances' targets, so as popular as the targets)
        or ``uniform`` (catalogue items, :meth:`negative_pool`). The same ``seed`` gives the
        same batches.
        """
        hp = self.hparams
        path = os.fspath(file)
        k = int(hp.train_num_ngs if num_ngs is None else num_ngs)
        if k < 1:
            raise ValueError(f"train_dataset: num_ngs = {k}; expected >= 1 (use eval_dataset)")
        seed = hp.get("seed") if seed is None else seed
        batch = int(hp.batch_size)
        mode = hp.get("train_negatives") or "in_batch"
        if mode not in ("in_batch", "uniform"):
            raise ValueError(
                f"hparams `train_negatives` = {mode!r}; expected 'in_batch' or 'uniform'"
            )
        ds, kept = self._lines(path, int(hp.min_seq_length), "train", group_size=1)
        pool = self.negative_pool(path) if mode == "uniform" else None
        if kept < batch:
            raise ValueError(
                f"{path}: {kept} usable training lines, fewer than batch_size={batch}; every "
                "training batch must be full (static shapes); lower batch_size"
            )
        dropped = kept % batch
        if dropped:
            log.info(
                "%s: last %d lines of each epoch dropped (batch_size=%d)", path, dropped, batch
            )
        if shuffle:
            buffer = int(hp.shuffle_buffer) or max(kept, 1)
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        window = int(hp.get("length_bucketing") or 0)
        if window:
            ds = self._length_sorted_batches(ds, batch, window, seed, shuffle)
        else:
            ds = ds.batch(batch, drop_remainder=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        trim = bool(window)
        ds = ds.map(
            lambda lines, s: self._train_batch(lines, s, k, batch, trim, pool),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _length_sorted_batches(
        ds: tf.data.Dataset, batch: int, window: int, seed, shuffle: bool
    ) -> tf.data.Dataset:
        """Batches of ``batch`` lines of similar history length (``length_bucketing``).

        The (shuffled) lines are cut into windows of ``window * batch`` lines, each window is
        sorted by history length and cut into ``window`` batches, and the batches are shuffled
        again over one window, so a batch holds lines of neighbouring lengths and can be padded
        to its own longest history. Every line of an epoch is still seen once; as without
        bucketing, only the lines after the last full batch are dropped."""

        def sorted_batches(lines):  # [n] -> [n // batch, batch], whole batches only
            lines = lines[: tf.shape(lines)[0] // batch * batch]
            order = tf.argsort(_history_lengths(lines), stable=True)
            return tf.reshape(tf.gather(lines, order), [-1, batch])

        ds = ds.batch(window * batch).map(sorted_batches, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.unbatch()  # one element per batch of lines
        if shuffle:
            ds = ds.shuffle(window, seed=seed, reshuffle_each_iteration=True)
        return ds

    def trimmed_width(self, mask: tf.Tensor) -> tf.Tensor:
        """History width for a batch with ``mask [B, L]`` under ``length_bucketing``: its longest
        history rounded up to a multiple of ``ceil(L / 5)`` (at most ``L``), so a training run
        traces its step for at most five widths. int32 scalar."""
        L = self.max_seq_length  # noqa: N806
        step = -(-L // 5)
        longest = tf.cast(tf.reduce_max(tf.reduce_sum(mask, axis=1)), tf.int32)
        return tf.minimum(L, tf.maximum(1, -(-longest // step)) * step)

    def _train_batch(
        self,
        lines,
        seed,
        k: int,
        batch: int,
        trim: bool = False,
        pool: CatalogueIndex | None = None,
    ) -> dict[str, tf.Tensor]:
        feats = build_features(parse_lines(lines), self.lookup, self.max_seq_length, self.divisor)
        if trim:
            # histories are left-aligned, so the columns past the longest one are all padding
            cut = self.trimmed_width(feats["mask"])
            feats = {n: v[:, :cut] if n in _RANK2 else v for n, v in feats.items()}
        static_width = None if trim else self.max_seq_length  # a trimmed width varies per batch
        items, cates = feats["items"], feats["cates"]
        if pool is None:
            neg_items, neg_cates = self._in_batch_negatives(items, cates, k, seed)
        else:
            drawn = uniform_negatives(items, pool.position, len(pool), k, seed)
            neg_items = tf.gather(pool.items, drawn)
            neg_cates = tf.gather(pool.cates, drawn)
        rows = batch * (k + 1)
        block = tf.repeat(tf.range(batch), k + 1)
        out = {}
        for name, value in feats.items():
            if name in ("items", "cates", "labels"):
                continue
            out[name] = tf.gather(value, block)
        out["items"] = tf.reshape(tf.concat([items[:, None], neg_items], axis=1), [rows])
        out["cates"] = tf.reshape(tf.concat([cates[:, None], neg_cates], axis=1), [rows])
        pattern = tf.concat([tf.ones([1]), tf.zeros([k])], axis=0)
        out["labels"] = tf.reshape(tf.tile(pattern, [batch]), [rows, 1])
        out["sample_weight"] = tf.ones([rows], tf.float32)
        return _static(out, rows, static_width)

    def _in_batch_negatives(self, items, cates, k: int, seed) -> tuple[tf.Tensor, tf.Tensor]:
        """``(items, cates)`` int32 ``[N, K]`` of :func:`sample_negatives`; an instance with no
        valid negative gets item / category 0 and is counted (:attr:`negative_fallbacks`)."""
        idx, has_negative = sample_negatives(items, k, seed)
        valid = tf.broadcast_to(has_negative[:, None], tf.shape(idx))
        neg_items = tf.where(valid, tf.gather(items, idx), 0)
        neg_cates = tf.where(valid, tf.gather(cates, idx), 0)
        missing = tf.reduce_sum(1 - tf.cast(has_negative, tf.int64))
        # update the counter only when needed: an unconditional assign serialises the map
        tf.cond(missing > 0, lambda: self._fallbacks.assign_add(missing), lambda: missing)
        return neg_items, neg_cates

    # ------------------------------------------------------------------ evaluation
    def eval_dataset(
        self,
        file: str | os.PathLike,
        min_seq_length: int | None = None,
        batch_size: int | None = None,
        raw_ids: bool = False,
        group_size: int | None = None,
    ) -> tf.data.Dataset:
        """Evaluation batches in file order, labels from the file, one row per line.

        ``batch_size`` (default ``eval_batch_size`` or ``batch_size``) lines per batch; the last
        partial batch is padded to full size by repeating its last line, with
        ``sample_weight`` 0 on the padding rows. Lines with a history shorter than
        ``min_seq_length`` (default ``hparams.min_seq_length``) are skipped, as Microsoft does.
        ``raw_ids`` adds the file's ``user_id`` and ``item_id`` strings ``[B]`` to each batch
        (for outputs keyed by raw ids; the model does not read them).

        ``group_size`` ``g`` (a file of groups of 1 positive + ``g - 1`` negatives, e.g.
        ``valid_num_ngs + 1``) makes every batch whole groups: the batch size is rounded down
        to a multiple of ``g`` (at least ``g``), so a group's lines never straddle two batches
        and the padding of the last batch is whole groups too (copies of the last line). The
        evaluation loop then encodes each group's history once; Keras ``model.evaluate`` and
        ``fit(validation_data=...)`` need such batches because the group-softmax loss reshapes
        rows into groups: pass ``group_size=train_num_ngs + 1`` there (the validation file must
        have ``valid_num_ngs == train_num_ngs``).
        """
        hp = self.hparams
        path = os.fspath(file)
        min_len = int(hp.min_seq_length if min_seq_length is None else min_seq_length)
        batch = int(batch_size or hp.get("eval_batch_size") or hp.batch_size)
        if group_size:
            g = int(group_size)
            if g < 1:
                raise ValueError(f"eval_dataset: group_size = {g}; expected >= 1")
            batch = max(g, batch // g * g)
        ds, _ = self._lines(path, min_len, "eval")
        ds = ds.batch(batch)
        ds = ds.map(
            lambda lines: self._eval_batch(lines, batch, raw_ids),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def _eval_batch(self, lines, batch: int, raw_ids: bool = False) -> dict[str, tf.Tensor]:
        n = tf.shape(lines)[0]
        lines = tf.gather(lines, tf.minimum(tf.range(batch), n - 1))
        raw = parse_lines(lines)
        out = build_features(raw, self.lookup, self.max_seq_length, self.divisor)
        if raw_ids:
            out["user_id"], out["item_id"] = raw["users"], raw["items"]
        out["sample_weight"] = tf.sequence_mask(n, batch, dtype=tf.float32)
        return _static(out, batch, self.max_seq_length)

    def keras_eval_dataset(
        self,
        file: str | os.PathLike,
        num_ngs: int | None = None,
        batch_size: int | None = None,
    ) -> tf.data.Dataset:
        """Evaluation batches of whole groups, for Keras ``model.evaluate(ds)`` and
        ``model.fit(..., validation_data=ds)``.

        ``eval_dataset(file, group_size=num_ngs + 1)`` of a file of groups of 1 positive +
        ``num_ngs`` negatives (default ``valid_num_ngs``): no group straddles two batches and
        the rows padding the last batch have ``sample_weight`` 0. The file is checked
        (``file_stats``) for that group layout first. Any ``num_ngs`` works with the
        streaming group metrics and the validation loss of ``SequentialModel.test_step``,
        unlike ``compute_loss``, which takes groups of ``train_num_ngs + 1``.
        """
        hp = self.hparams
        k = int(hp.valid_num_ngs if num_ngs is None else num_ngs)
        if k < 1:
            raise ValueError(f"keras_eval_dataset: num_ngs = {k}; expected >= 1")
        self.file_stats(file, group_size=k + 1)
        return self.eval_dataset(file, batch_size=batch_size, group_size=k + 1)


_RANK2 = ("item_history", "item_cate_history", "mask", "time_history", "time_diff",
          "time_from_first_action", "time_to_now")  # fmt: skip


def _static(batch: dict[str, tf.Tensor], rows: int, max_len: int | None) -> dict[str, tf.Tensor]:
    for name, value in batch.items():
        if name in _RANK2:
            value.set_shape([rows, max_len])
        elif name == "labels":
            value.set_shape([rows, 1])
        else:
            value.set_shape([rows])
    return batch
