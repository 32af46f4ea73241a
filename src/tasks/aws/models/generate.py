#!/usr/bin/env python3
"""Writes outputs.json: the output shapes of AWS service operations, from botocore's models.

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
import json
import os
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
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outputs.json")
    with open(path, "w") as fh:
        json.dump(out, fh, separators=(",", ":"), sort_keys=True)
        fh.write("\n")
    print("botocore %s: %d services, %d bytes -> %s" % (
        botocore.__version__, len(SERVICES), os.path.getsize(path), path), file=sys.stderr)


if __name__ == "__main__":
    main()
