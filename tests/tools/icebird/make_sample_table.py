#!/usr/bin/python3
"""Writes a small Iceberg v2 table by hand, for checking read.mjs (and icebird) without a writer.

    /usr/bin/python3 tests/tools/icebird/make_sample_table.py /abs/out/dir

Parquet comes from DuckDB (libduckdb.so from scripts/setup's cache, through ctypes: the engine
the lake writes with, field ids set, no `iceberg.schema` footer key), Avro from Debian's
python3-avro with the manifest schemas of src/watershed/iceberg/manifest.cc. The table,
partitioned by identity(category), has three snapshots, one metadata file each
(0000N-uuid.metadata.json, no version-hint.text):
  1. append A (category a: ids 1 2 3) and B (category b: ids 4 5)
  2. append C (category a: id 6; its entry's sequence number is null, so inherited) and a
     position delete of A's row 1 (id 2)
  3. an equality delete of id = 4 (manifest list written with the deflate codec)
Expected ids: snapshot 1 -> 1 2 3 4 5; 2 -> 6 1 3 4 5; 3 -> 6 1 3 5. Prints the snapshot ids.
"""
import ctypes
import json
import os
import sys
import uuid

import avro.datafile
import avro.io
import avro.schema


def duckdb_connection():
    lib_path = os.environ.get("LIBDUCKDB") or os.path.join(
        os.environ.get("WATERSHED_CACHE", os.path.expanduser("~/.cache/watershed")),
        "duckdb-1.4.4/lib/libduckdb.so")
    lib = ctypes.CDLL(lib_path)
    lib.duckdb_result_error.restype = ctypes.c_char_p
    db, con = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.duckdb_open(None, ctypes.byref(db)) == 0
    assert lib.duckdb_connect(db, ctypes.byref(con)) == 0

    def query(sql):
        result = ctypes.create_string_buffer(128)  # duckdb_result is 48 bytes
        if lib.duckdb_query(con, sql.encode(), result) != 0:
            raise RuntimeError(f"duckdb: {lib.duckdb_result_error(result).decode()}\n{sql}")
        lib.duckdb_destroy_result(result)
    return query


def req(name, typ, fid):
    return {"name": name, "type": typ, "field-id": fid}


def opt(name, typ, fid):
    return {"name": name, "type": ["null", typ], "default": None, "field-id": fid}


def manifest_schema(with_equality_ids=False):
    data_file = [req("content", "int", 134), req("file_path", "string", 100),
                 req("file_format", "string", 101),
                 req("partition", {"type": "record", "name": "r102",
                                   "fields": [opt("category", "string", 1000)]}, 102),
                 req("record_count", "long", 103), req("file_size_in_bytes", "long", 104)]
    if with_equality_ids:
        data_file.append(opt("equality_ids", {"type": "array", "items": "int",
                                              "element-id": 136}, 135))
    return {"type": "record", "name": "manifest_entry", "fields": [
        req("status", "int", 0), opt("snapshot_id", "long", 1), opt("sequence_number", "long", 3),
        opt("file_sequence_number", "long", 4),
        req("data_file", {"type": "record", "name": "r2", "fields": data_file}, 2)]}


MANIFEST_LIST_SCHEMA = {"type": "record", "name": "manifest_file", "fields": [
    req("manifest_path", "string", 500), req("manifest_length", "long", 501),
    req("partition_spec_id", "int", 502), req("content", "int", 517),
    req("sequence_number", "long", 515), req("min_sequence_number", "long", 516),
    req("added_snapshot_id", "long", 503), req("added_files_count", "int", 504),
    req("existing_files_count", "int", 505), req("deleted_files_count", "int", 506),
    req("added_rows_count", "long", 512), req("existing_rows_count", "long", 513),
    req("deleted_rows_count", "long", 514)]}

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": True, "type": "long"},
    {"id": 2, "name": "name", "required": False, "type": "string"},
    {"id": 3, "name": "day", "required": False, "type": "date"},
    {"id": 4, "name": "ts", "required": False, "type": "timestamptz"},
    {"id": 5, "name": "category", "required": False, "type": "string"}]}
SPEC_FIELDS = [{"name": "category", "transform": "identity", "source-id": 5, "field-id": 1000}]


def write_avro(path, schema, records, meta, codec="null"):
    with open(path, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(),
                                         avro.schema.parse(json.dumps(schema)), codec=codec)
        for k, v in meta.items():
            w.set_meta(k, v.encode())
        for r in records:
            w.append(r)
        w.close()
    return os.path.getsize(path)


def main():
    root = os.path.abspath(sys.argv[1])
    loc = "file://" + root
    os.makedirs(root + "/metadata")
    for d in ("category=a", "category=b", "deletes"):
        os.makedirs(f"{root}/data/{d}")
    query = duckdb_connection()
    ids = "{id: 1, name: 2, day: 3, ts: 4, category: 5}"

    def data_file(rel, rows):
        values = ", ".join(f"({i}, '{n}', DATE '{d}', TIMESTAMPTZ '{t}', '{c}')"
                           for i, n, d, t, c in rows)
        query(f"COPY (SELECT id::BIGINT AS id, name, day, ts, category FROM (VALUES {values}) "
              "t(id, name, day, ts, category)) "
              f"TO '{root}/{rel}' (FORMAT parquet, FIELD_IDS {ids})")
        return {"path": f"{loc}/{rel}", "rows": len(rows), "size": os.path.getsize(f"{root}/{rel}")}

    a = data_file("data/category=a/00000-a.parquet",
                  [(1, "ann", "2024-01-01", "2024-01-01 10:00:00.123456+00", "a"),
                   (2, "bob", "2024-01-02", "2024-01-02 11:00:00+00", "a"),
                   (3, "cy", "2024-02-29", "1999-12-31 23:59:59.999999+00", "a")])
    b = data_file("data/category=b/00000-b.parquet",
                  [(4, "dee", "2024-03-01", "2024-03-01 00:00:00+00", "b"),
                   (5, "é\"quote", "1970-01-01", "1970-01-01 00:00:00+00", "b")])
    c = data_file("data/category=a/00001-c.parquet",
                  [(6, "fay", "2025-12-31", "2025-12-31 12:34:56.5+00", "a")])
    rel = "data/deletes/00002-pos.parquet"
    query(f"COPY (SELECT '{a['path']}' AS file_path, 1::BIGINT AS pos) TO '{root}/{rel}' "
          "(FORMAT parquet, FIELD_IDS {file_path: 2147483546, pos: 2147483545})")
    pos = {"path": f"{loc}/{rel}", "rows": 1, "size": os.path.getsize(f"{root}/{rel}")}
    rel = "data/deletes/00003-eq.parquet"
    query(f"COPY (SELECT 4::BIGINT AS id) TO '{root}/{rel}' (FORMAT parquet, FIELD_IDS {{id: 1}})")
    eq = {"path": f"{loc}/{rel}", "rows": 1, "size": os.path.getsize(f"{root}/{rel}")}

    snap = [int.from_bytes(os.urandom(8), "big") >> 1 for _ in range(3)]
    meta_common = {"schema": json.dumps(SCHEMA), "schema-id": "0",
                   "partition-spec": json.dumps(SPEC_FIELDS), "partition-spec-id": "0",
                   "format-version": "2"}

    def entry(f, status, snapshot, seq, category, content=0, eq_ids=False):
        df = {"content": content, "file_path": f["path"], "file_format": "PARQUET",
              "partition": {"category": category}, "record_count": f["rows"],
              "file_size_in_bytes": f["size"]}
        if eq_ids:
            df["equality_ids"] = [1]
        return {"status": status, "snapshot_id": snapshot, "sequence_number": seq,
                "file_sequence_number": seq, "data_file": df}

    def manifest(name, entries, content, eq_ids=False):
        path = f"{root}/metadata/{name}"
        size = write_avro(path, manifest_schema(eq_ids), entries,
                          dict(meta_common, content="data" if content == 0 else "deletes"))
        return {"path": "file://" + path, "size": size, "content": content}

    m1 = manifest("m1.avro", [entry(a, 1, snap[0], 1, "a"), entry(b, 1, snap[0], 1, "b")], 0)
    m2 = manifest("m2.avro", [entry(c, 1, snap[1], None, "a")], 0)
    md2 = manifest("md2.avro", [entry(pos, 1, snap[1], 2, "a", content=1)], 1)
    md3 = manifest("md3.avro", [entry(eq, 1, snap[2], 3, None, content=2, eq_ids=True)], 1,
                   eq_ids=True)

    def line(m, seq, snapshot):
        return {"manifest_path": m["path"], "manifest_length": m["size"], "partition_spec_id": 0,
                "content": m["content"], "sequence_number": seq, "min_sequence_number": seq,
                "added_snapshot_id": snapshot, "added_files_count": 1, "existing_files_count": 0,
                "deleted_files_count": 0, "added_rows_count": 1, "existing_rows_count": 0,
                "deleted_rows_count": 0}

    lists = [[line(m1, 1, snap[0])],
             [line(m2, 2, snap[1]), line(m1, 1, snap[0]), line(md2, 2, snap[1])],
             [line(m2, 2, snap[1]), line(m1, 1, snap[0]), line(md2, 2, snap[1]),
              line(md3, 3, snap[2])]]
    snapshots, metadata_log = [], []
    for n in range(3):
        name = f"snap-{snap[n]}-1-{uuid.uuid4()}.avro"
        write_avro(f"{root}/metadata/{name}", MANIFEST_LIST_SCHEMA, lists[n],
                   {"snapshot-id": str(snap[n]),
                    "parent-snapshot-id": str(snap[n - 1]) if n else "null",
                    "sequence-number": str(n + 1), "format-version": "2"},
                   codec="deflate" if n == 2 else "null")
        ms = 1700000000000 + n * 1000
        s = {"snapshot-id": snap[n], "sequence-number": n + 1, "timestamp-ms": ms,
             "manifest-list": f"{loc}/metadata/{name}", "summary": {"operation": "append"},
             "schema-id": 0}
        if n:
            s["parent-snapshot-id"] = snap[n - 1]
        snapshots.append(s)
        metadata = {
            "format-version": 2, "table-uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1",
            "location": loc, "last-sequence-number": n + 1, "last-updated-ms": ms,
            "last-column-id": 5, "current-schema-id": 0, "schemas": [SCHEMA],
            "default-spec-id": 0, "partition-specs": [{"spec-id": 0, "fields": SPEC_FIELDS}],
            "last-partition-id": 1000, "default-sort-order-id": 0,
            "sort-orders": [{"order-id": 0, "fields": []}], "properties": {},
            "current-snapshot-id": snap[n],
            "refs": {"main": {"snapshot-id": snap[n], "type": "branch"}},
            "snapshots": list(snapshots),
            "snapshot-log": [{"timestamp-ms": x["timestamp-ms"], "snapshot-id": x["snapshot-id"]}
                             for x in snapshots],
            "metadata-log": list(metadata_log)}
        file = f"{root}/metadata/{n + 1:05d}-{uuid.uuid4()}.metadata.json"
        with open(file, "w") as f:
            json.dump(metadata, f, indent=2)
        metadata_log.append({"timestamp-ms": ms, "metadata-file": "file://" + file})
    print(" ".join(str(s) for s in snap))


if __name__ == "__main__":
    main()
