#!/usr/bin/env python3
"""Writes the AWS service models statejet ships, from botocore's models:

- outputs.json: the output shapes of the operations TestState checks mocked results against;
- services.bin + services.json: every service whose protocol is json, rest-json, query or
  rest-xml, as its wire protocols need it (metadata, each operation's HTTP binding and input and
  output shapes, the shapes with their serialization traits; no documentation, no constraints),
  one gzip member per service in services.bin, found through the index services.json
  ({"botocore", "services": {SDK_NAME: {"model", "prefix", "offset", "length"}}}). SDK_NAME is
  the name Step Functions' `aws-sdk:SDK_NAME:action` resources use and `prefix` its error prefix
  (`DynamoDb`, `Sfn`, `SecretsManager`): both come from the model's serviceId by the AWS SDK for
  Java v2's naming rule, which Step Functions' SDK integrations are built on.

Usage:
    pip download botocore==1.41.0 --no-deps -d /tmp/bc && python3 -m zipfile -e /tmp/bc/*.whl /tmp/bc/x
    PYTHONPATH=/tmp/bc/x python3 src/tasks/aws/models/generate.py

The botocore release is pinned (PINNED): the extract must hold the shapes AWS's TestState
validates with. The recorded TestState answers of December 2025 bound Lambda's MemorySize to
10240, as botocore 1.41.0 does (later releases raise it to 32768).

For each service in SERVICES, every operation's output shape and the shapes it reaches, in a
compact form the Rust reader (models/mod.rs) reads:
  {"botocore": VERSION, "services": {SERVICE: {"operations": {Op: ShapeName|null},
                                               "shapes": {ShapeName: SHAPE}}}}
  SHAPE = {"type": "structure", "members": {Name: ShapeName}, "required": [Name...]}
        | {"type": "list", "member": ShapeName} | {"type": "map", "value": ShapeName}
        | {"type": "string"|"blob"|"integer"|"long"|"float"|"double"|"boolean"|"timestamp"
           |"document", "enum"?: [...], "min"?: N, "max"?: N}
"""
import gzip
import json
import os
import re
import sys

import botocore
import botocore.session

# botocore service names: the services Step Functions integrates with (optimized and aws-sdk)
# that TestState mocks are commonly written for.
SERVICES = [
    "lambda", "events", "stepfunctions", "dynamodb", "s3", "kms", "sqs", "sns", "sts",
    "secretsmanager", "ecs", "athena", "batch", "apigateway", "cloudwatch",
]


def compact(shape):
    t = shape.type_name
    out = {"type": t}
    if t == "structure":
        out["members"] = {k: v.name for k, v in shape.members.items()}
        if shape.required_members:
            out["required"] = list(shape.required_members)
        if shape.metadata.get("document"):
            out = {"type": "document"}
    elif t == "list":
        out["member"] = shape.member.name
    elif t == "map":
        out["value"] = shape.value.name
    else:
        enum = getattr(shape, "enum", None)
        if enum:
            out["enum"] = list(enum)
        for k in ("min", "max"):
            if k in shape.metadata:
                out[k] = shape.metadata[k]
    return out


def walk(shape, shapes):
    if shape.name in shapes:
        return
    shapes[shape.name] = compact(shape)
    t = shape.type_name
    if t == "structure" and shapes[shape.name]["type"] == "structure":
        for m in shape.members.values():
            walk(m, shapes)
    elif t == "list":
        walk(shape.member, shapes)
    elif t == "map":
        walk(shape.value, shapes)


PINNED = "1.41.0"

# What the protocols read of a shape and of a member reference; everything else (documentation,
# min/max, patterns, enums) is left out.
SHAPE_KEYS = {"type", "members", "member", "key", "value", "payload", "flattened", "locationName",
              "timestampFormat", "streaming", "exception", "error", "xmlNamespace", "document"}
MEMBER_KEYS = {"shape", "location", "locationName", "flattened", "xmlNamespace", "jsonvalue",
               "xmlAttribute", "hostLabel"}
METADATA_KEYS = {"protocol", "jsonVersion", "targetPrefix", "signingName", "endpointPrefix",
                 "serviceId", "apiVersion", "xmlNamespace", "globalEndpoint", "awsQueryCompatible"}
PROTOCOLS = {"json", "rest-json", "query", "rest-xml"}


def pascal(service_id):
    """The AWS SDK for Java v2's class-name prefix of a serviceId: `DynamoDB` -> `DynamoDb`,
    `SFN` -> `Sfn`, `Secrets Manager` -> `SecretsManager`, `API Gateway` -> `ApiGateway`."""
    s = re.sub(r"[^A-Za-z0-9]+", " ", service_id)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    return "".join(w[:1].upper() + w[1:].lower() for w in s.split())


def pick(d, keys):
    return {k: v for k, v in d.items() if k in keys}


def protocol_model(raw):
    shapes = {}
    for name, shape in raw["shapes"].items():
        out = pick(shape, SHAPE_KEYS)
        if "members" in out:
            out["members"] = {m: pick(ref, MEMBER_KEYS) for m, ref in out["members"].items()}
        for k in ("member", "key", "value"):
            if k in out:
                out[k] = pick(out[k], MEMBER_KEYS)
        shapes[name] = out
    ops = {}
    for name, op in raw["operations"].items():
        out = {"http": pick(op["http"], {"method", "requestUri", "responseCode"})}
        for k in ("input", "output"):
            if k in op:
                out[k] = pick(op[k], {"shape", "locationName", "xmlNamespace", "resultWrapper"})
        ops[name] = out
    return {"metadata": pick(raw["metadata"], METADATA_KEYS), "operations": ops, "shapes": shapes}


def write_services(session, here):
    loader = session.get_component("data_loader")
    index, blob = {}, bytearray()
    for name in sorted(session.get_available_services()):
        raw = loader.load_service_model(name, "service-2")
        if raw["metadata"]["protocol"] not in PROTOCOLS:
            continue
        prefix = pascal(raw["metadata"]["serviceId"])
        sdk = prefix.lower()
        if sdk in index:
            # botocore keeps a retired model under a second name (sms-voice beside
            # pinpoint-sms-voice): the first, by name, is the one the Java SDK names so.
            print("skipped %s: %s already is %s" % (name, sdk, index[sdk]["model"]), file=sys.stderr)
            continue
        text = json.dumps(protocol_model(raw), separators=(",", ":"), sort_keys=True).encode()
        member = gzip.compress(text, compresslevel=9, mtime=0)
        index[sdk] = {"model": name, "prefix": prefix, "offset": len(blob), "length": len(member)}
        blob += member
    with open(os.path.join(here, "services.bin"), "wb") as fh:
        fh.write(blob)
    with open(os.path.join(here, "services.json"), "w") as fh:
        json.dump({"botocore": botocore.__version__, "services": index}, fh,
                  separators=(",", ":"), sort_keys=True)
        fh.write("\n")
    print("botocore %s: %d services, %d bytes compressed -> services.bin" % (
        botocore.__version__, len(index), len(blob)), file=sys.stderr)


def main():
    if botocore.__version__ != PINNED:
        raise SystemExit("botocore %s found, %s needed (see the usage above)" % (botocore.__version__, PINNED))
    session = botocore.session.get_session()
    out = {"botocore": botocore.__version__, "services": {}}
    for name in SERVICES:
        model = session.get_service_model(name)
        ops, shapes = {}, {}
        for op_name in model.operation_names:
            shape = model.operation_model(op_name).output_shape
            ops[op_name] = shape.name if shape is not None else None
            if shape is not None:
                walk(shape, shapes)
        out["services"][name] = {"operations": ops, "shapes": shapes}
    here = os.path.dirname(os.path.abspath(__file__))
    write_services(session, here)
    path = os.path.join(here, "outputs.json")
    with open(path, "w") as fh:
        json.dump(out, fh, separators=(",", ":"), sort_keys=True)
        fh.write("\n")
    print("botocore %s: %d services, %d bytes -> %s" % (
        botocore.__version__, len(SERVICES), os.path.getsize(path), path), file=sys.stderr)


if __name__ == "__main__":
    main()
