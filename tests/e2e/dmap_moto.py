#!/usr/bin/env python3
"""A Distributed Map's S3 ItemReader and ResultWriter against moto's server, by environment alone.

Starts `moto_server` on a free loopback port, puts objects with boto3, then runs workflows with
`statejet run --result` whose environment points S3 at moto (AWS_ENDPOINT_URL, test credentials,
a HOME without shared files). Checks items read from JSON, JSON Lines, CSV (first-row and given
headers, delimiters, quoting), an S3 inventory MANIFEST and listObjectsV2, MaxItems in its forms,
Parameters and JSONata Arguments, ItemSelector and ItemBatcher over read items; the ResultWriter's
manifest.json and result files read back from moto and checked whole, its WriterConfig forms and
the tolerated-failure interplay; and the errors (S3's NoSuchKey and NoSuchBucket, a JSON object
that is no array, duplicate CSV headers, no credentials, an endpoint that does not answer), with
Catch. With --conformance DIR, also runs the recorded cases of DIR/cases that need S3 (their
objects put first) and compares them with DIR/compare.py. Reports every difference, then exits
non-zero if there was one.

Usage: dmap_moto.py --bin target/debug/statejet [--conformance ../shared/conformance]
"""
import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_moto import free_port, start_moto  # noqa: E402


class Runner:
    def __init__(self, binary, env):
        self.binary = binary
        self.env = env
        self.dir = tempfile.mkdtemp(prefix="statejet-dmap-")
        self.failures = 0

    def run(self, definition, input=None, env=None, name="machine", kind=None):
        path = os.path.join(self.dir, "%s.asl.json" % name)
        with open(path, "w") as fh:
            json.dump(definition, fh)
        e = dict(self.env)
        e.update(env or {})
        cmd = [self.binary, "run", path, "--input", json.dumps({} if input is None else input), "--result"]
        if kind:
            cmd += ["--type", kind]
        out = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=180)
        try:
            return json.loads(out.stdout)
        except ValueError:
            raise SystemExit("statejet run gave no result: %s %s" % (out.stdout, out.stderr))

    def check(self, name, ok, got):
        if ok:
            print("ok   %s" % name)
        else:
            self.failures += 1
            print("FAIL %s: %s" % (name, json.dumps(got)[:3000]))


def dmap(reader=None, writer=None, processor=None, **extra):
    """A machine of one Distributed Map."""
    state = {"Type": "Map",
             "ItemProcessor": processor or {
                 "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                 "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
             "End": True}
    if reader:
        state["ItemReader"] = reader
    if writer:
        state["ResultWriter"] = writer
    state.update(extra)
    return {"StartAt": "Map", "States": {"Map": state}}


def get_object(bucket, key, reader_config, **params):
    p = {"Bucket": bucket, "Key": key}
    p.update(params)
    return {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": reader_config, "Parameters": p}


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def reader_checks(r, s3):
    s3.create_bucket(Bucket="items")
    people = [{"name": "ada", "age": 36}, {"name": "alan", "age": 41}, {"name": "grace", "age": 85}]
    s3.put_object(Bucket="items", Key="people.json", Body=json.dumps(people).encode())
    s3.put_object(Bucket="items", Key="nested.json", Body=json.dumps({"data": {"people": people}}).encode())
    s3.put_object(Bucket="items", Key="object.json", Body=b'{"not": "a list"}')
    s3.put_object(Bucket="items", Key="people.jsonl",
                  Body=b'{"name": "ada"}\n\n[1, 2]\r\n"text"\n7')
    s3.put_object(Bucket="items", Key="people.csv",
                  Body=b'\xef\xbb\xbfname,quote,age\r\nada,"said ""hi"", twice",36\ngrace,"two\nlines"\n')
    s3.put_object(Bucket="items", Key="pipes.csv", Body=b'1|x|extra\n2|y\n')
    s3.put_object(Bucket="items", Key="dupes.csv", Body=b'a,b,a\n1,2,3\n')
    for i in range(5):
        s3.put_object(Bucket="items", Key="logs/day-%d.txt" % i, Body=b"x" * (i + 1))
    s3.put_object(Bucket="items", Key="other/ignored.txt", Body=b"no")

    # JSON: the object's array, each item as written; ItemSelector reads $$.Map.Item.
    got = r.run(dmap(get_object("items", "people.json", {"InputType": "JSON"}),
                     ItemSelector={"who.$": "$$.Map.Item.Value.name", "index.$": "$$.Map.Item.Index",
                                   "from.$": "$.source"}),
                {"source": "input"})
    r.check("JSON items, ItemSelector on each", got.get("output") == [
        {"who": "ada", "index": 0, "from": "input"}, {"who": "alan", "index": 1, "from": "input"},
        {"who": "grace", "index": 2, "from": "input"}], got)

    # Parameters from the input (.$), MaxItems, MaxItemsPath.
    reader = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
              "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"}}
    got = r.run(dmap(reader), {"bucket": "items", "key": "people.json"})
    r.check("Parameters paths and MaxItems", got.get("output") == people[:2], got)
    reader["ReaderConfig"] = {"InputType": "JSON", "MaxItemsPath": "$.max"}
    got = r.run(dmap(reader), {"bucket": "items", "key": "people.json", "max": 1})
    r.check("MaxItemsPath", got.get("output") == people[:1], got)
    got = r.run(dmap(reader), {"bucket": "items", "key": "people.json", "max": 0})
    r.check("MaxItemsPath 0 reads all", got.get("output") == people, got)
    got = r.run(dmap(reader), {"bucket": "items", "key": "people.json", "max": -1})
    r.check("negative MaxItemsPath", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause") == "field MaxItems must be positive", got)

    # JSONata: Arguments and MaxItems as expressions.
    got = r.run({"QueryLanguage": "JSONata", "StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
                       "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "people.json"}},
        "ItemSelector": "{% $states.context.Map.Item.Value.age %}",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}},
        {"bucket": "items", "max": 2})
    r.check("JSONata Arguments and MaxItems", got.get("output") == [36, 41], got)

    got = r.run(dmap(get_object("items", "nested.json", {"InputType": "JSON", "ItemsPointer": "/data/people"})))
    r.check("ItemsPointer selects the array in a JSON object", got.get("output") == people, got)

    # JSON Lines: one value per line, blank lines skipped, the last line without a newline.
    got = r.run(dmap(get_object("items", "people.jsonl", {"InputType": "JSONL"})))
    r.check("JSONL items", got.get("output") == [{"name": "ada"}, [1, 2], "text", 7], got)
    got = r.run(dmap(get_object("items", "people.jsonl", {"InputType": "JSONL", "MaxItems": 2})))
    r.check("JSONL MaxItems", got.get("output") == [{"name": "ada"}, [1, 2]], got)

    # CSV: strings as written, quoting, CRLF, a BOM, a missing trailing field.
    got = r.run(dmap(get_object("items", "people.csv", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})))
    r.check("CSV with a header row", got.get("output") == [
        {"name": "ada", "quote": 'said "hi", twice', "age": "36"},
        {"name": "grace", "quote": "two\nlines", "age": ""}], got)
    got = r.run(dmap(get_object("items", "pipes.csv", {"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                                                        "CSVHeaders": ["id", "letter"], "CSVDelimiter": "PIPE"})))
    r.check("CSV with given headers and PIPE", got.get("output") == [
        {"id": "1", "letter": "x"}, {"id": "2", "letter": "y"}], got)
    got = r.run(dmap(get_object("items", "dupes.csv", {"InputType": "CSV"})))
    r.check("CSV duplicate headers", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause") == "CSV headers cannot contain duplicates.", got)

    # A 40 MB object read only as far as MaxItems needs.
    big = b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, b"x" * 400) for i in range(100000))
    s3.put_object(Bucket="items", Key="big.jsonl", Body=big)
    started = time.time()
    got = r.run(dmap(get_object("items", "big.jsonl", {"InputType": "JSONL", "MaxItems": 3}),
                     ItemSelector={"i.$": "$$.Map.Item.Value.i"}))
    r.check("a %d MB object read as far as MaxItems 3 (%.1f s)" % (len(big) // 1000000, time.time() - started),
            got.get("output") == [{"i": 0}, {"i": 1}, {"i": 2}], got)

    # ItemBatcher over read items.
    got = r.run(dmap(get_object("items", "people.json", {"InputType": "JSON"}),
                     ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"batch": True}}))
    r.check("ItemBatcher over read items", got.get("output") == [
        {"BatchInput": {"batch": True}, "Items": people[:2]},
        {"BatchInput": {"batch": True}, "Items": people[2:]}], got)

    # listObjectsV2: one item per object under the prefix, as AWS shapes them (Etag).
    listing = {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "items", "Prefix": "logs/"}}
    got = r.run(dmap(listing))
    objects = s3.list_objects_v2(Bucket="items", Prefix="logs/")["Contents"]
    want = [{"Etag": o["ETag"], "Key": o["Key"], "Size": o["Size"], "StorageClass": o["StorageClass"]}
            for o in objects]
    out = got.get("output") or []
    r.check("listObjectsV2 items", [{k: v for k, v in i.items() if k != "LastModified"} for i in out] == want
            and all(sorted(i) == ["Etag", "Key", "LastModified", "Size", "StorageClass"] for i in out)
            and all(ISO.match(i["LastModified"]) for i in out), got)
    listing["Parameters"]["MaxKeys"] = 2
    listing["ReaderConfig"] = {"MaxItems": 3}
    got = r.run(dmap(listing))
    r.check("listObjectsV2 pages (MaxKeys 2) up to MaxItems 3",
            [i["Key"] for i in got.get("output") or []] == [o["Key"] for o in objects[:3]], got)

    # MANIFEST: an S3 Inventory manifest.json and its gzipped CSV data files.
    s3.create_bucket(Bucket="inventory")
    rows1 = b'"items","logs/day-0.txt","1"\n"items","logs/day-1.txt","2"\n'
    rows2 = b'"items","logs/day-2.txt","3"\n'
    s3.put_object(Bucket="inventory", Key="items/inv/data/a.csv.gz", Body=gzip.compress(rows1))
    s3.put_object(Bucket="inventory", Key="items/inv/data/b.csv.gz", Body=gzip.compress(rows2))
    manifest = {"sourceBucket": "items", "destinationBucket": "arn:aws:s3:::inventory", "version": "2016-11-30",
                "creationTimestamp": "1514944800000", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
                "files": [{"key": "items/inv/data/a.csv.gz", "size": 60, "MD5checksum": "x"},
                          {"key": "items/inv/data/b.csv.gz", "size": 30, "MD5checksum": "y"}]}
    s3.put_object(Bucket="inventory", Key="items/inv/manifest.json", Body=json.dumps(manifest).encode())
    got = r.run(dmap(get_object("inventory", "items/inv/manifest.json", {"InputType": "MANIFEST"})))
    r.check("MANIFEST: the inventory's rows by fileSchema", got.get("output") == [
        {"Bucket": "items", "Key": "logs/day-0.txt", "Size": "1"},
        {"Bucket": "items", "Key": "logs/day-1.txt", "Size": "2"},
        {"Bucket": "items", "Key": "logs/day-2.txt", "Size": "3"}], got)
    got = r.run(dmap(get_object("inventory", "items/inv/manifest.json", {"InputType": "MANIFEST", "MaxItems": 2})))
    r.check("MANIFEST MaxItems", len(got.get("output") or []) == 2, got)

    # Errors, as Step Functions names them; Catch takes them.
    got = r.run(dmap(get_object("items", "missing.json", {"InputType": "JSON"})))
    r.check("NoSuchKey", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause", "").startswith("S3.NoSuchKeyException: The specified key does not exist. (Service: S3, Status Code: 404, Request ID: "), got)
    got = r.run(dmap(get_object("nobucket", "people.json", {"InputType": "JSON"})))
    r.check("NoSuchBucket", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause", "").startswith("S3.NoSuchBucketException: The specified bucket does not exist (Service: S3, Status Code: 404"), got)
    got = r.run(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "nobucket"}}))
    r.check("listObjectsV2 NoSuchBucket", got.get("error") == "States.ItemReaderFailed"
            and "S3.NoSuchBucketException" in got.get("cause", ""), got)
    got = r.run(dmap(get_object("items", "object.json", {"InputType": "JSON"})))
    r.check("a JSON object is no array", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause") == "Attempting to map over non-iterable node.", got)
    caught = dmap(get_object("items", "missing.json", {"InputType": "JSON"}),
                  Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Caught"}])
    del caught["States"]["Map"]["End"]
    caught["States"]["Map"]["Next"] = "Caught"
    caught["States"]["Caught"] = {"Type": "Pass", "Result": "caught", "End": True}
    got = r.run(caught)
    r.check("Catch takes States.ItemReaderFailed", got.get("output") == "caught", got)
    got = r.run(dmap(get_object("items", "people.json", {"InputType": "JSON"})),
                env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    r.check("no credentials: a clear failure", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause", "").startswith("S3.SdkClientException: Unable to load credentials"), got)
    got = r.run(dmap(get_object("items", "people.json", {"InputType": "JSON"})),
                env={"AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % free_port()})
    r.check("no endpoint answering: a clear failure", got.get("error") == "States.ItemReaderFailed"
            and got.get("cause", "").startswith("S3.SdkClientException: Unable to execute HTTP request: http://127.0.0.1:"), got)
    return people


def read_back(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def writer_checks(r, s3):
    s3.create_bucket(Bucket="results")
    # Items 1..4; item 3 fails; one failure tolerated.
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check",
                 "States": {"Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 3, "Next": "Boom"}],
                                      "Default": "Double"},
                            "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "three is bad"},
                            "Double": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": True}}}
    items = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix.$": "$.prefix"}}
    got = r.run(dmap(None, writer, processor, ItemsPath="$.items", Label="Doubler", MaxConcurrency=1,
                     ToleratedFailureCount=1), {"items": items, "prefix": "runs"}, name="writer")
    out = got.get("output") or {}
    arn = out.get("MapRunArn", "")
    m = re.match(r"^arn:aws:states:us-east-1:\d{12}:mapRun:writer/Doubler:(%s)$" % UUID, arn)
    r.check("ResultWriter output: MapRunArn and ResultWriterDetails", m is not None and out.get("ResultWriterDetails") ==
            {"Bucket": "results", "Key": "runs/%s/manifest.json" % (m.group(1) if m else "?")} and len(out) == 2, got)
    if not m:
        return
    run_id = m.group(1)
    base = "runs/%s/" % run_id
    manifest = json.loads(read_back(s3, "results", base + "manifest.json"))
    succeeded = read_back(s3, "results", base + "SUCCEEDED_0.json")
    failed = read_back(s3, "results", base + "FAILED_0.json")
    r.check("manifest.json", manifest == {
        "DestinationBucket": "results", "MapRunArn": arn,
        "ResultFiles": {"FAILED": [{"Key": base + "FAILED_0.json", "Size": len(failed)}],
                        "PENDING": [],
                        "SUCCEEDED": [{"Key": base + "SUCCEEDED_0.json", "Size": len(succeeded)}]}}, manifest)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix=base)["Contents"])
    r.check("only the files the manifest names", keys == sorted([base + "manifest.json", base + "SUCCEEDED_0.json",
                                                                 base + "FAILED_0.json"]), keys)
    machine = "arn:aws:states:us-east-1:%s:stateMachine:writer/Doubler" % arn.split(":")[4]
    execution = "arn:aws:states:us-east-1:%s:execution:writer/Doubler:" % arn.split(":")[4]

    def whole(record, status, item, extra):
        want = {"ExecutionArn": record.get("ExecutionArn"), "Input": json.dumps(item, separators=(",", ":")),
                "InputDetails": {"Included": True}, "Name": record.get("Name"), "RedriveCount": 0,
                "RedriveStatus": "NOT_REDRIVABLE", "StartDate": record.get("StartDate"),
                "StateMachineArn": machine, "Status": status, "StopDate": record.get("StopDate")}
        want.update(extra)
        return (record == want and list(record) == sorted(record)
                and re.match("^%s$" % UUID, record.get("Name", "")) is not None
                and record.get("ExecutionArn") == execution + record.get("Name", "")
                and ISO.match(record.get("StartDate", "")) and ISO.match(record.get("StopDate", ""))
                and record["StartDate"] <= record["StopDate"])

    s = json.loads(succeeded)
    r.check("SUCCEEDED_0.json: each child's record (Transformation NONE)", len(s) == 3 and all(
        whole(rec, "SUCCEEDED", item, {"Output": json.dumps({"twice": item["n"] * 2}, separators=(",", ":")),
                                       "OutputDetails": {"Included": True},
                                       "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven"})
        for rec, item in zip(s, [items[0], items[1], items[3]])), s)
    f = json.loads(failed)
    r.check("FAILED_0.json: the failed child's record", len(f) == 1 and whole(
        f[0], "FAILED", items[2], {"Error": "Item.Bad", "Cause": "three is bad",
                                   "RedriveStatusReason": f[0].get("RedriveStatusReason")})
        and "Output" not in f[0], f)

    # Past the tolerance: the results are written, then the Map fails.
    got = r.run(dmap(None, writer, processor, ItemsPath="$.items", Label="Doubler", MaxConcurrency=1),
                {"items": items, "prefix": "strict"}, name="writer")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix="strict/").get("Contents", [])]
    r.check("a child's failure fails the Map once the results are written", got.get("error") == "Item.Bad"
            and any(k.endswith("/manifest.json") for k in listed) and any(k.endswith("/FAILED_0.json") for k in listed), [got, listed])

    # WriterConfig: JSONL of the outputs (COMPACT), exported; no Prefix.
    got = r.run(dmap(None, {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results"},
                            "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"}}, ItemsPath="$.items",
                     MaxConcurrency=1),
                {"items": [[1, 2], {"a": 1}, "x"]}, name="lines")
    key = (got.get("output") or {}).get("ResultWriterDetails", {}).get("Key", "")
    manifest = json.loads(read_back(s3, "results", key)) if key else {}
    files = manifest.get("ResultFiles", {}).get("SUCCEEDED", [])
    body = read_back(s3, "results", files[0]["Key"]) if files else b""
    r.check("WriterConfig JSONL + COMPACT: one output per line", re.match(r"^%s/manifest\.json$" % UUID, key) is not None
            and files and files[0]["Key"].endswith("/SUCCEEDED_0.jsonl")
            and body == b'[1,2]\n{"a":1}\n"x"\n' and files[0]["Size"] == len(body), [got, manifest, body.decode()])

    # WriterConfig alone: the state's output is formatted, nothing is exported.
    got = r.run(dmap(None, {"WriterConfig": {"OutputType": "JSON", "Transformation": "FLATTEN"}}),
                [[1, 2], [3], 4])
    r.check("WriterConfig alone: FLATTEN in the output", got.get("output") == [1, 2, 3, 4], got)

    # A bucket that does not exist.
    got = r.run(dmap(None, {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "nobucket", "Prefix": "p"}}),
                [1])
    r.check("ResultWriter into a missing bucket", got.get("error") == "States.ResultWriterFailed"
            and got.get("cause", "").startswith("S3.NoSuchBucketException: "), got)

    # Reader and writer together: the results of many items go to S3, not into the output.
    s3.put_object(Bucket="items", Key="many.jsonl", Body=("\n".join(json.dumps({"i": i, "pad": "x" * 200}) for i in range(3000))).encode())
    got = r.run(dmap(get_object("items", "many.jsonl", {"InputType": "JSONL"}),
                     {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "many"},
                      "WriterConfig": {"Transformation": "COMPACT"}}))
    key = (got.get("output") or {}).get("ResultWriterDetails", {}).get("Key", "")
    files = json.loads(read_back(s3, "results", key))["ResultFiles"]["SUCCEEDED"] if key else []
    written = json.loads(read_back(s3, "results", files[0]["Key"])) if files else []
    r.check("3,000 items read and their 660 KB of results written", len(written) == 3000
            and sorted(w["i"] for w in written) == list(range(3000)), got)


def serve_check(r, s3, binary, env):
    """The same reader and writer as futures on `statejet serve`'s engine."""
    serve = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--logs", os.devnull],
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        deadline = time.time() + 30
        while time.time() < deadline and url is None:
            line = serve.stderr.readline()
            if "listening on " in line:
                url = line.split("listening on ")[1].split()[0]
            elif not line and serve.poll() is not None:
                break
        sfn = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1").client(
            "stepfunctions", endpoint_url=url, config=botocore.config.Config(inject_host_prefix=False))
        definition = dmap(get_object("items", "people.csv", {"InputType": "CSV"}),
                          {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "served"},
                           "WriterConfig": {"Transformation": "COMPACT"}})
        arn = sfn.create_state_machine(name="served", type="EXPRESS", roleArn="arn:aws:iam::123456789012:role/r",
                                       definition=json.dumps(definition))["stateMachineArn"]
        res = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        key = json.loads(res.get("output") or "{}").get("ResultWriterDetails", {}).get("Key", "")
        files = json.loads(read_back(s3, "results", key))["ResultFiles"]["SUCCEEDED"] if key else []
        written = json.loads(read_back(s3, "results", files[0]["Key"])) if files else []
        r.check("statejet serve reads and writes S3 from the engine", res.get("status") == "SUCCEEDED"
                and key.startswith("served/") and sorted(w["name"] for w in written) == ["ada", "grace"], res)
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def conformance(r, s3, directory):
    sys.path.insert(0, directory)
    import compare  # the corpus's own comparison (masking, placeholders)
    cases = []
    for name in sorted(os.listdir(os.path.join(directory, "cases"))):
        with open(os.path.join(directory, "cases", name)) as fh:
            case = json.load(fh)
        if "s3" in (case.get("needs") or []):
            cases.append(case)
    passed = 0
    for case in cases:
        buckets = {o["bucket"] for o in (case.get("setup") or {}).get("s3_objects", [])}
        if "ResultWriter" in json.dumps(case["definition"]):
            buckets.add("result-bucket")
        for b in buckets:
            try:
                s3.create_bucket(Bucket=b)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        for o in (case.get("setup") or {}).get("s3_objects", []):
            s3.put_object(Bucket=o["bucket"], Key=o["key"], Body=o["body"].encode())
        # The corpus masks the Map Run's id as <MapRunArnPart1_0idx> without listing it.
        if "<MapRunArnPart1_0idx>" in json.dumps(case["expected"]):
            case["masking"]["placeholders"].append("<MapRunArnPart1_0idx>")
        got = r.run(case["definition"], case["input"], name="conformance", kind=case.get("state_machine_type"))
        ok, diffs = compare.compare_case(case, got)
        passed += ok
        r.check("recorded case %s" % case["name"], ok, diffs)
    print("recorded S3 cases: %d of %d pass" % (passed, len(cases)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--conformance")
    args = ap.parse_args()

    moto, endpoint = start_moto()
    home = tempfile.mkdtemp(prefix="statejet-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"HOME": home, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"})
    s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                               region_name="us-east-1").client("s3", endpoint_url=endpoint)
    r = Runner(args.bin, env)
    try:
        reader_checks(r, s3)
        writer_checks(r, s3)
        serve_check(r, s3, args.bin, env)
        if args.conformance:
            conformance(r, s3, args.conformance)
    finally:
        moto.kill()
        shutil.rmtree(r.dir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    if r.failures:
        print("%d check(s) failed" % r.failures)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
