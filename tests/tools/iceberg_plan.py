#!/usr/bin/python3
"""Plans an Iceberg v2 table scan the way an engine does, independently of Watershed's code.

Usage: iceberg_plan.py METADATA_JSON [SNAPSHOT_ID]

Reads metadata.json, picks the snapshot (default: refs.main), decodes its manifest list and
manifests with python3-avro (Debian's, run with /usr/bin/python3), keeps the live entries
(status ADDED or EXISTING) and prints JSON: the schema, the partition spec, and the data files
and delete files of the snapshot with their partition values, record counts and sequence
numbers. Checks on the way what the spec requires of each file and exits non-zero on a breach.
"""
import json
import sys

import avro.datafile
import avro.io


def fail(msg):
    print(f"iceberg_plan: {msg}", file=sys.stderr)
    sys.exit(2)


def local(uri):
    if not uri.startswith("file://"):
        fail(f"not a local file location: {uri}")
    return uri[len("file://"):]


def read_avro(uri):
    reader = avro.datafile.DataFileReader(open(local(uri), "rb"), avro.io.DatumReader())
    meta = {k: v.decode() for k, v in reader.meta.items() if k != "avro.schema" and k != "avro.codec"}
    schema = json.loads(reader.meta["avro.schema"])
    return schema, meta, list(reader)


def main():
    if len(sys.argv) < 2:
        fail("usage: iceberg_plan.py METADATA_JSON [SNAPSHOT_ID]")
    metadata = json.load(open(sys.argv[1]))
    if metadata.get("format-version") != 2:
        fail("format-version is not 2")
    for key in ("table-uuid", "location", "last-sequence-number", "last-updated-ms", "last-column-id",
                "schemas", "current-schema-id", "partition-specs", "default-spec-id",
                "last-partition-id", "sort-orders", "default-sort-order-id"):
        if key not in metadata:
            fail(f"metadata.json lacks required {key}")
    if len(sys.argv) > 2:
        snapshot_id = int(sys.argv[2])
    else:
        snapshot_id = metadata["refs"]["main"]["snapshot-id"]
        if snapshot_id != metadata.get("current-snapshot-id"):
            fail("refs.main and current-snapshot-id disagree")
    snapshots = {s["snapshot-id"]: s for s in metadata.get("snapshots", [])}
    if snapshot_id not in snapshots:
        fail(f"no snapshot {snapshot_id}")
    snap = snapshots[snapshot_id]
    if snap["sequence-number"] > metadata["last-sequence-number"]:
        fail("a snapshot's sequence number exceeds last-sequence-number")
    if snapshot_id >= 2**53:
        fail("snapshot id not below 2^53")
    schema = next(s for s in metadata["schemas"] if s["schema-id"] == snap["schema-id"])

    _, list_meta, manifests = read_avro(snap["manifest-list"])
    if int(list_meta["snapshot-id"]) != snapshot_id:
        fail("manifest list names another snapshot")
    data_files, delete_files = [], []
    for m in manifests:
        mschema, mmeta, entries = read_avro(m["manifest_path"])
        for key in ("schema", "partition-spec", "partition-spec-id", "format-version", "content"):
            if key not in mmeta:
                fail(f"manifest {m['manifest_path']} lacks key-value metadata {key}")
        if mmeta["content"] != ("deletes" if m["content"] == 1 else "data"):
            fail("manifest content disagrees with the manifest list")
        for e in entries:
            if e["status"] == 2:  # DELETED: not part of the snapshot
                continue
            seq = e["sequence_number"] if e["sequence_number"] is not None else m["sequence_number"]
            f = e["data_file"]
            item = {"path": f["file_path"], "records": f["record_count"], "size": f["file_size_in_bytes"],
                    "partition": f["partition"], "sequence_number": seq, "format": f["file_format"]}
            (delete_files if f["content"] == 1 else data_files).append(item)
            if f["content"] != m["content"] and not (m["content"] == 1 and f["content"] in (1, 2)):
                fail("a file's content disagrees with its manifest")
    json.dump({"snapshot_id": snapshot_id, "sequence_number": snap["sequence-number"],
               "operation": snap["summary"]["operation"], "schema": schema,
               "spec": metadata["partition-specs"][0], "data_files": data_files,
               "delete_files": delete_files}, sys.stdout, default=str)


main()
