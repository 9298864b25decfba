"""Out-of-core preparation: a log of any size -> the three 8-column files + vocabs.

Same output as ``write_sequential_files`` (byte for byte, tested), without holding the table in
memory. The engine is DuckDB (``pip install tf_lsrec[scale]``; chosen by measurement, see
docs/datasets.md): it reads the CSV / TSV / Parquet log, validates it, gives items and categories
integer codes and sorts the rows into instance order (user by first appearance, then timestamp,
then file order), spilling to disk within ``memory_limit``. Python then streams that sorted
Parquet file twice in chunks of whole users:

1. split assignment, vocab counts, the negative pool (one int32 item code per row: 4 bytes per
   interaction, the only per-row array held), the positives of valid / test and the category of
   each item (last row wins);
2. after drawing the negatives exactly as the in-memory path does (one seeded stream, valid then
   test), the lines of each chunk, written with the in-memory writer's vectorised byte gather.

Memory: DuckDB's ``memory_limit`` + 4 bytes per interaction (pool) + 8 bytes per valid/test
negative + the user vocab (one Python string per training user) + one chunk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator

import numpy as np
import pandas as pd

from tf_lsrec.data.interactions import COLUMNS, _infer_sep
from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.progress import Progress
from tf_lsrec.data.sequential import (
    MANIFEST_NAME,
    TEST,
    TRAIN,
    VALID,
    InstanceTable,
    SplitFiles,
    SplitRule,
    VocabCounter,
    assign_splits,
    check_items,
    check_settings,
    draw_negatives,
    make_manifest,
)
from tf_lsrec.data.vocab import save_vocabs
from tf_lsrec.utils.files import atomic_write_text

log = logging.getLogger(__name__)


def require_duckdb():
    try:
        import duckdb
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "out-of-core preparation needs DuckDB: pip install 'tf_lsrec[scale]' (or duckdb)"
        ) from e
    return duckdb


def _q(path: str) -> str:
    return "'" + os.fspath(path).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _source_sql(path: str, columns: dict[str, str], sep: str | None) -> str:
    """A DuckDB relation with the interactions schema (ids as text, timestamp as given)."""
    if sep is None:
        sep = _infer_sep(path)
    if sep is None:
        rel = f"read_parquet({_q(path)})"
    else:
        rel = f"read_csv({_q(path)}, delim={_q(sep)}, header=true, all_varchar=true, quote='\"')"
    sel = ", ".join(f"{_ident(columns[c])} AS {_ident(c)}" for c in COLUMNS)
    return f"SELECT {sel} FROM {rel}"


class DuckSorter:
    """Stage, validate, code and sort a log with DuckDB into ``work_dir/sorted.parquet``."""

    def __init__(self, work_dir: str, memory_limit: str, threads: int | None):
        duckdb = require_duckdb()
        self.work_dir = work_dir
        self.con = duckdb.connect()
        spill = os.path.join(work_dir, "spill")
        os.makedirs(spill, exist_ok=True)
        self.con.execute(f"SET memory_limit={_q(memory_limit)}")
        self.con.execute(f"SET temp_directory={_q(spill)}")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")

    def sql(self, query: str):
        return self.con.execute(query)

    def stage(self, source: str | pd.DataFrame, columns: dict[str, str], sep: str | None) -> str:
        """Copy the source (file or DataFrame) into ``stage.parquet`` with the four columns."""
        staged = os.path.join(self.work_dir, "stage.parquet")
        if isinstance(source, pd.DataFrame):
            df = source.rename(columns={v: k for k, v in columns.items()})[list(COLUMNS)]
            self.con.register("source_df", df)
            query = 'SELECT "user", item, category, "timestamp" FROM source_df'
            name = "<DataFrame>"
        else:
            name = os.fspath(source)
            if not os.path.isfile(name):
                raise FileNotFoundError(f"interactions file {name} does not exist")
            query = _source_sql(name, columns, sep)
        self.sql("SET preserve_insertion_order=true")
        try:
            self.sql(
                f'COPY (SELECT CAST("user" AS VARCHAR) AS "user", CAST(item AS VARCHAR) AS '
                f'item, CAST(category AS VARCHAR) AS category, CAST("timestamp" AS VARCHAR) AS '
                f"ts FROM ({query})) TO {_q(staged)} (FORMAT parquet)"
            )
        except Exception as e:  # duckdb's errors name the missing column / bad line
            raise ValueError(f"{name}: cannot read columns {columns}: {e}") from e
        self.source_name = name
        return staged

    def validate(self, staged: str, header_lines: int) -> None:
        rel = f"read_parquet({_q(staged)}, file_row_number=true)"
        for col in ("user", "item", "category"):
            bad = self.sql(
                f"SELECT count(*), min(file_row_number) FROM {rel} WHERE {_ident(col)} IS NULL "
                f"OR {_ident(col)} = '' OR regexp_matches({_ident(col)}, '[\\t,\\n\\r]')"
            ).fetchone()
            if bad[0]:
                row = self.sql(
                    f"SELECT {_ident(col)} FROM {rel} WHERE file_row_number = {bad[1]}"
                ).fetchone()[0]
                raise ValueError(
                    f"{self.source_name}, line {bad[1] + 1 + header_lines}, column {col!r}: "
                    f"invalid id {row!r} ({bad[0]} row(s) in total); ids must be non-empty and "
                    f"contain no tab, comma or line break"
                )
        bad = self.sql(
            f"SELECT count(*), min(file_row_number), arg_min(ts, file_row_number) FROM {rel} "
            f"WHERE TRY_CAST(ts AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(ts AS DOUBLE)) OR "
            f"TRY_CAST(ts AS DOUBLE) <> floor(TRY_CAST(ts AS DOUBLE))"
        ).fetchone()
        if bad[0]:
            raise ValueError(
                f"{self.source_name}, line {bad[1] + 1 + header_lines}, column 'timestamp': "
                f"{bad[2]!r} is not an integer timestamp ({bad[0]} bad row(s) in total)"
            )

    def sort(self, staged: str) -> dict:
        """Write ``sorted.parquet`` (ufirst, user, item_code, cate_code, ts) in instance order.

        Returns ``{"n", "max_ts", "items", "cates"}`` (names as object arrays in code order).
        """
        self.sql("SET preserve_insertion_order=false")
        rel = (
            f'SELECT "user", item, category, COALESCE(TRY_CAST(ts AS BIGINT), '
            f"CAST(CAST(ts AS DOUBLE) AS BIGINT)) AS ts, "
            f"file_row_number AS rid FROM read_parquet({_q(staged)}, file_row_number=true)"
        )
        self.sql(f"CREATE TEMP VIEW r AS {rel}")
        self.sql('CREATE TEMP TABLE users AS SELECT "user", min(rid) AS ufirst FROM r GROUP BY 1')
        for name, col in (("items", "item"), ("cates", "category")):
            self.sql(
                f"CREATE TEMP TABLE {name} AS SELECT {col} AS name, CAST(row_number() OVER "
                f"(ORDER BY min(rid)) - 1 AS INTEGER) AS code FROM r GROUP BY {col}"
            )
        sorted_path = os.path.join(self.work_dir, "sorted.parquet")
        self.sql(
            f'COPY (SELECT u.ufirst, r."user", i.code AS item_code, c.code AS cate_code, r.ts '
            f'FROM r JOIN users u USING ("user") JOIN items i ON r.item = i.name '
            f"JOIN cates c ON r.category = c.name ORDER BY u.ufirst, r.ts, r.rid) "
            f"TO {_q(sorted_path)} (FORMAT parquet, ROW_GROUP_SIZE 262144)"
        )
        n, max_ts = self.sql("SELECT count(*), max(ts) FROM r").fetchone()
        names = {}
        for name in ("items", "cates"):
            col = self.sql(f"SELECT name FROM {name} ORDER BY code").fetchnumpy()["name"]
            names[name] = np.asarray(col, dtype=object)
        self.sql("DROP TABLE users")
        self.sorted_path = sorted_path
        return {"n": int(n), "max_ts": None if max_ts is None else int(max_ts), **names}


def iter_user_chunks(
    sorted_path: str, items: np.ndarray, cates: np.ndarray, chunk_rows: int
) -> Iterator[tuple[int, InstanceTable]]:
    """``(row_offset, table)`` for consecutive chunks of whole users of ``sorted.parquet``."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(sorted_path)
    carry: dict[str, np.ndarray] | None = None
    offset = 0

    def table(parts):
        uf = parts["ufirst"]
        starts = np.flatnonzero(np.r_[True, uf[1:] != uf[:-1]])
        user_code = np.cumsum(np.r_[True, uf[1:] != uf[:-1]]) - 1
        users = parts["user"][starts]
        return InstanceTable.from_codes(
            user_code, users, parts["item_code"], items, parts["cate_code"], cates, parts["ts"]
        )

    for batch in f.iter_batches(batch_size=chunk_rows):
        parts = {
            "ufirst": batch.column("ufirst").to_numpy(),
            "user": np.asarray(batch.column("user").to_numpy(zero_copy_only=False), dtype=object),
            "item_code": batch.column("item_code").to_numpy(),
            "cate_code": batch.column("cate_code").to_numpy(),
            "ts": batch.column("ts").to_numpy(),
        }
        if carry is not None:
            parts = {k: np.concatenate([carry[k], v]) for k, v in parts.items()}
        uf = parts["ufirst"]
        last = np.flatnonzero(uf != uf[-1])
        cut = int(last[-1]) + 1 if len(last) else 0  # rows of the last (maybe partial) user
        carry = {k: v[cut:] for k, v in parts.items()}
        if cut:
            yield offset, table({k: v[:cut] for k, v in parts.items()})
            offset += cut
    if carry is not None and len(carry["ufirst"]):
        yield offset, table(carry)


def prepare_out_of_core(
    source: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike,
    valid_num_ngs: int = 4,
    test_num_ngs: int = 9,
    seed: int = 42,
    max_history: int | None = None,
    user_default: bool = False,
    *,
    split: SplitRule | None = None,
    columns: dict[str, str] | None = None,
    sep: str | None = None,
    memory_limit: str = "2GB",
    threads: int | None = None,
    work_dir: str | os.PathLike | None = None,
    chunk_rows: int = 1 << 20,
    progress: bool = False,
    write_lines: bool = True,
) -> DataPaths:
    """Prepare ``source`` (CSV / TSV with a header, Parquet, or a DataFrame) into ``out_dir``.

    Same arguments and output as ``write_sequential_files``; additionally ``columns`` maps the
    schema names (``user, item, category, timestamp``) to the source's column names,
    ``memory_limit`` / ``threads`` bound DuckDB, ``work_dir`` holds its sorted copy and spill
    files (default: a temporary directory beside ``out_dir``, removed at the end).
    ``write_lines=False`` stops after the first pass (vocabs and manifest only; for benches).
    """
    check_settings(valid_num_ngs, test_num_ngs, max_history)
    columns = {c: c for c in COLUMNS} | dict(columns or {})
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    paths = DataPaths.in_directory(out)
    own_work = work_dir is None
    work = tempfile.mkdtemp(prefix=".ooc-", dir=out) if own_work else os.fspath(work_dir)
    os.makedirs(work, exist_ok=True)
    try:
        sorter = DuckSorter(work, memory_limit, threads)
        staged = sorter.stage(source, columns, sep)
        text = not isinstance(source, pd.DataFrame) and (sep or _infer_sep(os.fspath(source)))
        sorter.validate(staged, header_lines=1 if text else 0)
        info = sorter.sort(staged)
        sorter.con.close()
        os.remove(staged)
        n, items, cates = info["n"], info["items"], info["cates"]
        if n == 0:
            raise ValueError("the interactions table is empty; nothing to write")
        check_items(len(items), valid_num_ngs, test_num_ngs)
        rule = (split or SplitRule()).resolve(info["max_ts"])
        sorted_path = sorter.sorted_path

        # pass 1: pool, positives, item -> category, vocab counts, user statistics
        pool = np.empty(n, dtype=np.int32)
        positives = {"valid": [], "test": []}
        item_cate = np.zeros(len(items), dtype=np.int64)
        counter = VocabCounter(len(items), len(cates), max_history)
        n_users = len1 = len2 = n_train = 0
        bar = Progress(2 * n if write_lines else n, "preparing", enabled=progress)
        for offset, t in iter_user_chunks(sorted_path, items, cates, chunk_rows):
            codes = assign_splits(t, rule, seed, offset)
            pool[offset : offset + t.n] = t.item_code
            positives["valid"].append(t.item_code[codes == VALID])
            positives["test"].append(t.item_code[codes == TEST])
            order = np.argsort(t.item_code, kind="stable")
            ic = t.item_code[order]
            last = np.r_[ic[1:] != ic[:-1], True]
            item_cate[ic[last]] = t.cate_code[order[last]]
            counter.add(t, codes, offset)
            n_train += int((codes == TRAIN).sum())
            n_users += len(t.users)
            len1 += int((t.lengths == 1).sum())
            len2 += int((t.lengths == 2).sum())
            bar.update(t.n)
        rng = np.random.default_rng(seed)
        negs = {}
        for s, k in (("valid", valid_num_ngs), ("test", test_num_ngs)):
            pos = np.concatenate(positives[s]) if positives[s] else np.empty(0, np.int64)
            negs[s] = draw_negatives(rng, pool, pos, k).astype(np.int32)
        del pool, positives
        lines = {
            "train": n_train,
            "valid": len(negs["valid"]) * (valid_num_ngs + 1),
            "test": len(negs["test"]) * (test_num_ngs + 1),
        }
        # pass 2: the lines
        taken = {"valid": 0, "test": 0}
        with SplitFiles(paths, valid_num_ngs, test_num_ngs, max_history, item_cate) as files:
            chunks = iter_user_chunks(sorted_path, items, cates, chunk_rows) if write_lines else ()
            for offset, t in chunks:
                codes = assign_splits(t, rule, seed, offset)
                chunk_negs = {}
                for s, code in (("valid", VALID), ("test", TEST)):
                    k = int((codes == code).sum())
                    chunk_negs[s] = negs[s][taken[s] : taken[s] + k].astype(np.int64)
                    taken[s] += k
                files.write(t, codes, chunk_negs)
                bar.update(t.n)
        bar.close()
        vocabs = counter.vocabs(items, cates, user_default)
        save_vocabs(vocabs, paths.user_vocab, paths.item_vocab, paths.cate_vocab)
        manifest = make_manifest(
            n=n,
            users=n_users,
            items=len(items),
            categories=len(cates),
            user_lengths_1=len1,
            user_lengths_2=len2,
            lines=lines,
            positives={s: len(v) for s, v in negs.items()},
            valid_num_ngs=valid_num_ngs,
            test_num_ngs=test_num_ngs,
            seed=seed,
            max_history=max_history,
            user_default=user_default,
            vocabs=vocabs,
            split_rule=rule,
        )
        if write_lines:
            assert files.lines == lines, (files.lines, lines)
        else:
            manifest["lines_written"] = False
            for name in ("train_file", "valid_file", "test_file"):
                os.remove(getattr(paths, name))
        atomic_write_text(os.path.join(out, MANIFEST_NAME), json.dumps(manifest, indent=2) + "\n")
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return paths
