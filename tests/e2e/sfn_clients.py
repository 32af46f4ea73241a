"""End-to-end test of `statejet serve` through the clients people use: boto3 and the AWS CLI.

Usage: python sfn_clients.py --bin target/debug/statejet

Starts its own servers (one open, one requiring SigV4 credentials) on free loopback ports,
drives every operation of the API through boto3 (and a set of them through the `aws` CLI),
including the errors, and exits non-zero on the first expectation that does not hold.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import boto3
import botocore
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/statejet"

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}})
ECHO = json.dumps({
    "StartAt": "Call",
    "States": {
        "Call": {"Type": "Task", "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo",
                 "ResultSelector": {"got.$": "$.value"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
})
FAIL = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "it broke"}}})


class Server:
    """A `statejet serve` process on a free port."""

    def __init__(self, binary, *args, lambda_url=None, functions=None):
        self.logs = tempfile.NamedTemporaryFile("w+", suffix=".jsonl", delete=False)
        handlers = {"echo": {"identity": {}}, **(functions or {})}
        functions = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        if lambda_url:
            handlers.update({"double": {"endpoint": lambda_url}, "boom": {"endpoint": lambda_url},
                             "missing": {"endpoint": lambda_url}})
        json.dump({"functions": handlers}, functions)
        functions.close()
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--functions", functions.name,
             "--logs", self.logs.name, *args],
            stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                return
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("statejet serve did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def lambda_server():
    """A Lambda Invoke API server, as `sam local start-lambda` runs one: `double` doubles n,
    `boom` fails with a function error, any other name is not found."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            m = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations", self.path)
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
            headers = {}
            if m and m.group(1) == "double":
                status, body = 200, {"n": payload["n"] * 2}
            elif m and m.group(1) == "boom":
                status, body = 200, {"errorType": "ValueError", "errorMessage": "no"}
                headers["X-Amz-Function-Error"] = "Unhandled"
            else:
                status, body = 404, {"Type": "User", "Message": "Function not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def lambda_endpoints(sfn):
    def call(function):
        return json.dumps({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"}, "OutputPath": "$.Payload", "End": True}}})

    for name in ("double", "boom", "missing"):
        sfn.create_state_machine(name=f"call-{name}", definition=call(name), roleArn=ROLE, type="EXPRESS")
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:call-"
    r = sfn.start_sync_execution(stateMachineArn=arn + "double", input='{"n": 21}')
    assert (r["status"], json.loads(r["output"])) == ("SUCCEEDED", {"n": 42}), r
    r = sfn.start_sync_execution(stateMachineArn=arn + "boom", input="{}")
    assert (r["status"], r["error"]) == ("FAILED", "ValueError"), r
    assert json.loads(r["cause"]) == {"errorType": "ValueError", "errorMessage": "no"}, r
    r = sfn.start_sync_execution(stateMachineArn=arn + "missing", input="{}")
    assert (r["status"], r["error"]) == ("FAILED", "Lambda.ResourceNotFoundException"), r


def client(url, key="test", secret="test", **config):
    return boto3.client(
        "stepfunctions", endpoint_url=url, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 0}, **config))


def expect_error(code, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{call.__name__}: expected {code}, got {got}: {e}"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403, 404, 413, 503), e
        return e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__}: expected {code}, but the call succeeded")


def state_machines(sfn, url):
    arn = sfn.create_state_machine(name="hello", definition=PASS, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    assert arn == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:hello", arn
    # Creating the same machine again is idempotent; a different one under the name is refused.
    assert sfn.create_state_machine(name="hello", definition=PASS, roleArn=ROLE, type="EXPRESS")["stateMachineArn"] == arn
    expect_error("StateMachineAlreadyExists", sfn.create_state_machine, name="hello", definition=FAIL, roleArn=ROLE, type="EXPRESS")
    # The API's default type is STANDARD (tests/e2e/standard.py drives its executions).
    std = sfn.create_state_machine(name="std", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=std)["type"] == "STANDARD"
    sfn.delete_state_machine(stateMachineArn=std)
    msg = expect_error("InvalidDefinition", sfn.create_state_machine, name="bad", definition='{"StartAt": "X", "States": {}}', roleArn=ROLE, type="EXPRESS")
    assert msg.startswith("Invalid State Machine Definition: '"), msg
    assert "MISSING_TRANSITION_TARGET" in msg or "SCHEMA_VALIDATION_FAILED" in msg, msg
    expect_error("InvalidName", sfn.create_state_machine, name="a b", definition=PASS, roleArn=ROLE, type="EXPRESS")
    expect_error("InvalidLoggingConfiguration", sfn.create_state_machine, name="lg", definition=PASS, roleArn=ROLE,
                 type="EXPRESS", loggingConfiguration={"level": "ALL"})

    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["name"] == "hello" and d["type"] == "EXPRESS" and d["status"] == "ACTIVE", d
    assert json.loads(d["definition"]) == json.loads(PASS)
    # Created without a loggingConfiguration: the server's default (--log-level, ALL unless set),
    # as Describe says, to the log group /statejet/NAME.
    assert d["loggingConfiguration"] == {"level": "ALL", "includeExecutionData": False, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/statejet/hello:*"}}]}, d
    assert d["roleArn"] == ROLE
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn + "x")
    expect_error("InvalidArn", sfn.describe_state_machine, stateMachineArn="not-an-arn")

    for n in ("m1", "m2", "m3"):
        sfn.create_state_machine(name=n, definition=PASS, roleArn=ROLE, type="EXPRESS")
    first = sfn.list_state_machines(maxResults=2)
    assert [m["name"] for m in first["stateMachines"]] == ["hello", "m1"], first
    rest = sfn.list_state_machines(maxResults=2, nextToken=first["nextToken"])
    assert [m["name"] for m in rest["stateMachines"]] == ["m2", "m3"], rest
    assert "nextToken" not in rest
    assert len(sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1}).build_full_result()["stateMachines"]) == 4
    expect_error("InvalidToken", sfn.list_state_machines, nextToken="%%%")

    u = sfn.update_state_machine(stateMachineArn=arn, definition=ECHO)
    assert u["revisionId"], u
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == json.loads(ECHO)
    expect_error("MissingRequiredParameter", sfn.update_state_machine, stateMachineArn=arn)
    expect_error("InvalidDefinition", sfn.update_state_machine, stateMachineArn=arn, definition="{")

    sfn.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "iot"}, {"key": "env", "value": "dev"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "iot"}]
    expect_error("ResourceNotFound", sfn.list_tags_for_resource, resourceArn=arn + "-gone")
    expect_error("TooManyTags", sfn.tag_resource, resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])

    ok = sfn.validate_state_machine_definition(definition=PASS, type="EXPRESS")
    assert ok["result"] == "OK" and ok["diagnostics"] == [], ok
    bad = sfn.validate_state_machine_definition(definition="{}")
    assert bad["result"] == "FAIL", bad
    assert bad["diagnostics"][0] == {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                                     "message": "These fields are required: [States, StartAt]", "location": "/"}, bad
    wait_token = json.dumps({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}}})
    w = sfn.validate_state_machine_definition(definition=wait_token, type="EXPRESS")
    assert w["result"] == "FAIL" and w["diagnostics"][0]["location"] == "/States/S/Resource", w
    return arn


def executions(sfn, server):
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:hello"
    r = sfn.start_sync_execution(stateMachineArn=arn, name="first", input=json.dumps({"value": 42}))
    assert r["status"] == "SUCCEEDED", r
    assert json.loads(r["output"]) == {"got": 42}, r
    assert r["executionArn"].startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:express:hello:first:"), r
    assert r["stateMachineArn"] == arn and r["name"] == "first", r
    assert r["billingDetails"]["billedDurationInMilliseconds"] >= 100, r
    assert r["startDate"] <= r["stopDate"]
    meta = sfn.start_sync_execution(stateMachineArn=arn, input="{}", includedData="METADATA_ONLY")
    assert "output" not in meta and meta["outputDetails"] == {"included": False}, meta

    failing = sfn.create_state_machine(name="failing", definition=FAIL, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    f = sfn.start_sync_execution(stateMachineArn=failing)
    assert (f["status"], f["error"], f["cause"]) == ("FAILED", "Oops", "it broke"), f
    assert "output" not in f

    expect_error("InvalidExecutionInput", sfn.start_sync_execution, stateMachineArn=arn, input="{nope")
    expect_error("StateMachineDoesNotExist", sfn.start_sync_execution, stateMachineArn=arn + "-gone")
    expect_error("InvalidName", sfn.start_execution, stateMachineArn=arn, name="bad name")
    expect_error("ValidationException", sfn.start_execution, stateMachineArn=arn, input=json.dumps({"big": "x" * 262144}))

    # Fire-and-forget: the result goes to the logs.
    logged = sfn.create_state_machine(
        name="logged", definition=PASS, roleArn=ROLE, type="EXPRESS",
        loggingConfiguration={"level": "ALL", "includeExecutionData": True, "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:sj:*"}}]})["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=logged, name="async-1", input='{"a": 1}')
    execution = started["executionArn"]
    assert execution.startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:express:logged:async-1:"), started
    events = []
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(server.logs.name) as f:
            events = [json.loads(l) for l in f if l.strip()]
        events = [e for e in events if e["execution_arn"] == execution]
        if any(e["type"] == "ExecutionSucceeded" for e in events):
            break
        time.sleep(0.05)
    kinds = [e["type"] for e in events]
    assert kinds == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"], kinds
    assert json.loads(events[-1]["details"]["output"]) == {"ok": True}, events[-1]
    assert events[0]["redrive_count"] == "0" and events[0]["previous_event_id"] == "0", events[0]

    # Express executions keep no history: AWS's refusals.
    for call in (sfn.describe_execution, sfn.stop_execution, sfn.get_execution_history,
                 sfn.describe_state_machine_for_execution):
        msg = expect_error("InvalidArn", call, executionArn=execution)
        assert msg == "Invalid Arn: 'Resource type not valid in this context: express'", msg
    msg = expect_error("StateMachineTypeNotSupported", sfn.list_executions, stateMachineArn=logged)
    assert msg == "This operation is not supported by this type of state machine", msg
    expect_error("ExecutionDoesNotExist", sfn.describe_execution,
                 executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:hello:x")

    sfn.delete_state_machine(stateMachineArn=failing)
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=failing)
    sfn.delete_state_machine(stateMachineArn=failing)  # already gone: still fine, as with AWS


def test_state(sfn):
    task = {"Type": "Task", "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo",
            "ResultPath": "$.r", "Next": "After"}
    r = sfn.test_state(definition=json.dumps(task), roleArn=ROLE, input='{"x": 1}', inspectionLevel="DEBUG")
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "After", r
    assert json.loads(r["output"]) == {"x": 1, "r": {"x": 1}}, r
    data = {k: json.loads(v) for k, v in r["inspectionData"].items() if k != "errorDetails"}
    assert list(data) == ["input", "afterInputPath", "afterParameters", "result", "afterResultSelector",
                          "afterResultPath"], data
    assert data["afterParameters"] == data["result"] == {"x": 1}, data
    assert data["afterResultPath"] == {"x": 1, "r": {"x": 1}}, data
    shaped = dict(task, InputPath="$.in", Parameters={"v.$": "$.a"}, ResultSelector={"w.$": "$.v"})
    r = sfn.test_state(definition=json.dumps(shaped), roleArn=ROLE, input='{"in": {"a": 5}}', inspectionLevel="DEBUG")
    data = {k: json.loads(v) for k, v in r["inspectionData"].items()}
    assert (data["afterInputPath"], data["afterParameters"], data["afterResultSelector"]) == ({"a": 5}, {"v": 5}, {"w": 5}), data
    assert json.loads(r["output"]) == {"in": {"a": 5}, "r": {"w": 5}}, r

    r = sfn.test_state(definition=json.dumps(task), roleArn=ROLE, input="{}", mock={"result": '{"m": true}'})
    assert json.loads(r["output"]) == {"r": {"m": True}}, r

    caught = dict(task, Catch=[{"ErrorEquals": ["Boom"], "Next": "Handle", "ResultPath": "$.err"}])
    r = sfn.test_state(definition=json.dumps(caught), roleArn=ROLE, input="{}",
                       mock={"errorOutput": {"error": "Boom", "cause": "bad"}})
    assert (r["status"], r["nextState"]) == ("CAUGHT_ERROR", "Handle"), r
    assert json.loads(r["output"]) == {"err": {"Error": "Boom", "Cause": "bad"}}, r

    retried = dict(caught, Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}])
    r = sfn.test_state(definition=json.dumps(retried), roleArn=ROLE, input="{}",
                       mock={"errorOutput": {"error": "Boom", "cause": "bad"}})
    assert (r["status"], r["error"], r["cause"]) == ("RETRIABLE", "Boom", "bad"), r

    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}], "Default": "Small"}
    assert sfn.test_state(definition=json.dumps(choice), roleArn=ROLE, input='{"n": 9}')["nextState"] == "Big"
    assert sfn.test_state(definition=json.dumps(choice), roleArn=ROLE, input='{"n": 1}')["nextState"] == "Small"

    r = sfn.test_state(definition=FAIL, roleArn=ROLE, stateName="F")
    assert (r["status"], r["error"], r["cause"]) == ("FAILED", "Oops", "it broke"), r

    jsonata = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.a + $v %}", "End": True}
    r = sfn.test_state(definition=json.dumps(jsonata), roleArn=ROLE, input='{"a": 2}', variables='{"v": 40}')
    assert (r["status"], json.loads(r["output"])) == ("SUCCEEDED", 42), r
    assert "nextState" not in r

    expect_error("InvalidDefinition", sfn.test_state, definition='{"Type": "Nope"}', roleArn=ROLE)


def raw_errors(url):
    """What no SDK sends: unknown operations, malformed bodies."""
    import urllib.request
    import urllib.error

    def post(target, body, host=None):
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
        if host:
            headers["Host"] = host
        req = urllib.request.Request(url + "/", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # Any Host is accepted: SDKs put sync- in front of it for StartSyncExecution and TestState.
    assert post("AWSStepFunctions.ListStateMachines", b"{}", host="sync-localhost:1")[0] == 200
    with urllib.request.urlopen(url + "/health") as r:
        assert json.loads(r.read()) == {"status": "ok"}
    with urllib.request.urlopen(url + "/metrics") as r:
        metrics = r.read().decode()
    assert 'statejet_executions_started_total{state_machine="hello"}' in metrics, metrics
    assert 'statejet_executions_ended_total{state_machine="failing"' not in metrics  # deleted
    assert re.search(r'statejet_executions_ended_total\{state_machine="hello",status="SUCCEEDED"\} [1-9]', metrics), metrics
    assert "# TYPE statejet_execution_duration_seconds histogram" in metrics  # prometheus_metrics.py parses it
    assert post("AWSStepFunctions.Nope", b"{}") == (400, {"__type": "UnknownOperationException",
                                                          "message": "statejet does not implement the operation 'Nope'"})
    status, body = post("AWSStepFunctions.ListStateMachines", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException"), body
    status, body = post("AWSStepFunctions.DescribeStateMachine", b'{"stateMachineArn": 7}')
    assert (status, body["__type"]) == (400, "SerializationException"), body
    status, body = post("AWSStepFunctions.DescribeStateMachine", b"{}")
    assert (status, body["__type"]) == (400, "ValidationException"), body
    # A body over 1 MiB is refused from its Content-Length, before it is sent.
    import socket
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\n"
                  b"Content-Length: 2000000\r\n\r\n")
        head = s.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413"), head
    # A connection dropped halfway through a request leaves the server serving.
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\"")
    assert post("AWSStepFunctions.ListStateMachines", b"{}")[0] == 200
    # A client that sends its request slowly holds only its own connection.
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        assert post("AWSStepFunctions.ListStateMachines", b"{}")[0] == 200


def aws_cli(url):
    """The AWS CLI, with host prefix injection turned off by environment."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION=REGION, AWS_DISABLE_HOST_PREFIX_INJECTION="true",
               AWS_MAX_ATTEMPTS="1")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")

    def run(*args, ok=True):
        p = subprocess.run([aws, "stepfunctions", *args, "--endpoint-url", url, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=120)
        assert (p.returncode == 0) == ok, (args, p.returncode, p.stdout, p.stderr)
        return json.loads(p.stdout) if ok and p.stdout.strip() else p.stderr

    arn = run("create-state-machine", "--name", "cli", "--definition", PASS, "--role-arn", ROLE,
              "--type", "EXPRESS")["stateMachineArn"]
    assert "cli" in [m["name"] for m in run("list-state-machines")["stateMachines"]]
    r = run("start-sync-execution", "--state-machine-arn", arn, "--input", "{}")
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"ok": True}, r
    assert run("start-execution", "--state-machine-arn", arn)["executionArn"].startswith(
        f"arn:aws:states:{REGION}:{ACCOUNT}:express:cli:")
    err = run("describe-state-machine", "--state-machine-arn", arn + "-gone", ok=False)
    assert "StateMachineDoesNotExist" in err, err
    v = run("validate-state-machine-definition", "--definition", "{}")
    assert v["result"] == "FAIL", v
    t = run("test-state", "--definition", json.dumps({"Type": "Pass", "End": True}), "--role-arn", ROLE,
            "--input", '{"a": 1}')
    assert t["status"] == "SUCCEEDED" and json.loads(t["output"]) == {"a": 1}, t
    run("delete-state-machine", "--state-machine-arn", arn)


def raw_post(url, headers, data):
    """POSTs bytes with exactly these headers; returns the status and the JSON answer."""
    import urllib.request
    import urllib.error
    req = urllib.request.Request(url + "/", data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sigv4_post(url, target, body, key, secret, service="states", region=REGION, skew=None):
    """A request signed by botocore's own SigV4 signer (its clock moved by `skew`), as headers
    and body, for a test to send as they are or changed."""
    import datetime
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=url + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
    now = botocore.auth.get_current_datetime
    if skew is not None:
        botocore.auth.get_current_datetime = lambda: now() + datetime.timedelta(seconds=skew)
    try:
        botocore.auth.SigV4Auth(Credentials(key, secret), service, region).add_auth(req)
    finally:
        botocore.auth.get_current_datetime = now
    return dict(req.headers.items()), body


def get(url, path, auth=None, headers=None):
    """A GET with optional HTTP Basic credentials; returns status, headers and body text."""
    import base64
    import urllib.request
    import urllib.error
    headers = dict(headers or {})
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    req = urllib.request.Request(url + path, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def signed(binary):
    key, secret = "AKIDSTATEJET", "s3cret"
    server = Server(binary, "--credentials", f"{key}:{secret}")
    try:
        good = client(server.url, key, secret)
        good.create_state_machine(name="signed", definition=PASS, roleArn=ROLE, type="EXPRESS")
        assert good.start_sync_execution(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:signed")["status"] == "SUCCEEDED"
        expect_error("InvalidSignatureException", client(server.url, key, "wrong").list_state_machines)
        expect_error("UnrecognizedClientException", client(server.url, "AKIDOTHER", secret).list_state_machines)
        expect_error("MissingAuthenticationTokenException",
                     client(server.url, signature_version=botocore.UNSIGNED).list_state_machines)

        # Another region, or another service's signature, is refused with AWS's scope message.
        msg = expect_error("InvalidSignatureException",
                           boto3.client("stepfunctions", endpoint_url=server.url, region_name="eu-west-1",
                                        aws_access_key_id=key, aws_secret_access_key=secret,
                                        config=Config(inject_host_prefix=False, retries={"max_attempts": 0})
                                        ).list_state_machines)
        assert msg == "Credential should be scoped to a valid region, not 'eu-west-1'.", msg
        target = "AWSStepFunctions.ListStateMachines"
        status, body = raw_post(server.url, *sigv4_post(server.url, target, b"{}", key, secret, service="lambda"))
        assert (status, body["message"]) == (400, "Credential should be scoped to correct service: 'states'."), body

        # A signature 20 minutes old, 20 minutes ahead or a year old is refused (clock skew).
        assert raw_post(server.url, *sigv4_post(server.url, target, b"{}", key, secret, skew=60))[0] == 200
        for skew, words in ((-1200, "Signature expired: "), (1200, "Signature not yet current: "),
                            (-366 * 86400, "Signature expired: ")):
            status, body = raw_post(server.url, *sigv4_post(server.url, target, b"{}", key, secret, skew=skew))
            assert (status, body["__type"]) == (400, "InvalidSignatureException"), body
            assert body["message"].startswith(words) and "15 min." in body["message"], body

        # The body swap: a different body under the original body's hash, stated unsigned.
        import hashlib
        def create(name):
            return json.dumps({"name": name, "definition": PASS, "roleArn": ROLE, "type": "EXPRESS"}).encode()
        headers, body = sigv4_post(server.url, "AWSStepFunctions.CreateStateMachine", create("harmless"), key, secret)
        headers["X-Amz-Content-Sha256"] = hashlib.sha256(body).hexdigest()
        status, answer = raw_post(server.url, headers, create("swap"))
        assert (status, answer["__type"]) == (400, "InvalidSignatureException"), answer
        expect_error("StateMachineDoesNotExist", good.describe_state_machine,
                     stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:swap")
        # An unsigned X-Amz-Date.
        headers, body = sigv4_post(server.url, target, b"{}", key, secret)
        headers["Authorization"] = headers["Authorization"].replace("host;x-amz-date;", "host;")
        status, answer = raw_post(server.url, headers, body)
        assert answer == {"__type": "InvalidSignatureException",
                          "message": "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."}, answer

        page_security(server, key, secret, good)
    finally:
        server.stop()


def page_security(server, key, secret, sfn):
    """With credentials, the page, its feeds and /metrics need them (HTTP Basic, as a browser
    and Prometheus send them, or SigV4); /health does not. A failure's error and cause reach the
    page only for a machine whose logging includes execution data."""
    for path in ("/", "/ui/machines", "/ui/diagram?machine=signed", "/metrics"):
        status, headers, _ = get(server.url, path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic "), (path, status)
        assert get(server.url, path, auth=(key, "wrong"))[0] == 401, path
        assert get(server.url, path, auth=(key, secret))[0] == 200, path
    assert get(server.url, "/health")[0] == 200
    status, _, metrics = get(server.url, "/metrics", auth=(key, secret))
    assert 'statejet_executions_started_total{state_machine="signed"} 1' in metrics, metrics

    leaky = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "CardDeclined", "CausePath": "$.card"}}})
    card = "4111111111111111"
    logging = {"level": "ERROR", "includeExecutionData": True, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:sj:*"}}]}
    sfn.create_state_machine(name="quiet", definition=leaky, roleArn=ROLE, type="EXPRESS")
    sfn.create_state_machine(name="open", definition=leaky, roleArn=ROLE, type="EXPRESS", loggingConfiguration=logging)
    for name in ("quiet", "open"):
        r = sfn.start_sync_execution(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
                                     input=json.dumps({"card": card}))
        assert (r["status"], r["cause"]) == ("FAILED", card), r
    _, _, feed = get(server.url, "/ui/machines", auth=(key, secret))
    machines = {m["name"]: m for m in json.loads(feed)}
    quiet, open_ = machines["quiet"]["recent_failures"][0], machines["open"]["recent_failures"][0]
    assert card not in json.dumps(quiet) and "error" not in quiet, quiet
    assert "includeExecutionData" in quiet["redacted"] and "--page-execution-data" in quiet["redacted"], quiet
    assert (open_["error"], open_["cause"]) == ("CardDeclined", card), open_
    # The recent executions follow the same rule.
    quiet, open_ = machines["quiet"]["recent_executions"][0], machines["open"]["recent_executions"][0]
    assert card not in json.dumps(quiet) and "error" not in quiet and quiet["status"] == "FAILED", quiet
    assert (open_["error"], open_["cause"], open_["status"]) == ("CardDeclined", card, "FAILED"), open_
    assert open_["duration_ms"] >= 0 and open_["start"] <= open_["at"], open_


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe (fds 3 and 4,
    messages ended by NUL): the page's layout can be measured, which a DOM dump cannot tell."""

    def __init__(self, chromium, flags):
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def fds():
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.profile = tempfile.mkdtemp()
        self.proc = subprocess.Popen(
            [chromium, *flags, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._next, self._buffer, self.session = 0, b"", None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._read, 1 << 20)
                assert chunk, "Chromium closed its DevTools pipe"
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == self._next:
                assert "error" not in answer, (method, answer["error"])
                return answer["result"]

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def until(self, expression, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.eval(expression):
                return
            time.sleep(0.2)
        raise AssertionError(f"the page never showed {what}")

    def width(self, px):
        self.call("Emulation.setDeviceMetricsOverride", width=px, height=1000, deviceScaleFactor=1, mobile=False)
        time.sleep(0.3)

    def screenshot(self, path):
        import base64
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        assert os.path.getsize(path) > 10_000, f"a screenshot was taken: {path}"

    def close(self):
        self.proc.kill()
        self.proc.wait()


# Measured in the page: every count tile on one row, each figure on one line inside its tile.
TILES = """(() => {
  const tiles = [...document.querySelectorAll('#counts .count')];
  const rows = new Set(tiles.map((t) => Math.round(t.getBoundingClientRect().top)));
  const bad = tiles.filter((t) => {
    const b = t.querySelector('b');
    const line = parseFloat(getComputedStyle(b).lineHeight) || 1.3 * parseFloat(getComputedStyle(b).fontSize);
    return b.getBoundingClientRect().height > 1.5 * line || t.scrollWidth > t.clientWidth
      || b.getBoundingClientRect().right > t.getBoundingClientRect().right;
  }).map((t) => t.dataset.count);
  return {count: tiles.length, rows: rows.size, bad};
})()"""

# The badges as drawn: text, colour, and whether each lies inside its state's shape.
BADGES = """(() => [...document.querySelectorAll('#diagram svg text.badge')].map((t) => {
  const box = t.closest('g[id]').querySelector(':scope > rect, :scope > polygon').getBBox();
  const b = t.getBBox();
  return {state: t.dataset.state, text: t.firstChild ? t.firstChild.textContent : '',
          fill: t.getAttribute('fill'), idle: t.closest('g[id]').classList.contains('idle'),
          inside: b.width > 0 && b.x >= box.x && b.x + b.width <= box.x + box.width
            && b.y >= box.y && b.y + b.height <= box.y + box.height};
}))()"""


def page(binary, chromium, artifacts):
    """The live page in headless Chromium: the diagram with a count badge in every state's box,
    counts that follow the load on one row of tiles, the busiest machine opened by default,
    and the recent-executions view."""
    definitions = tempfile.mkdtemp()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "examples/order.asl.json")) as f:
        order = f.read()
    with open(os.path.join(definitions, "order.asl.json"), "w") as f:
        f.write(order)
    # The page behind credentials, as a browser reaches it: HTTP Basic, here from the address.
    key, secret = "AKIDPAGE", "page-secret"
    functions = {"reserve": {"return": {"reservationId": "r-1", "held": True}},
                 "bill": {"return": {"invoiceId": "inv-1"}}}
    server = Server(binary, "--definitions", definitions, "--credentials", f"{key}:{secret}",
                    functions=functions)
    try:
        sfn = client(server.url, key, secret)
        # A machine first by name that nothing runs: the page must still open on "order".
        sfn.create_state_machine(name="aaa-idle", definition=PASS, roleArn=ROLE, type="EXPRESS")
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:order"
        for _ in range(3):  # no lines: each ends in the Rejected Fail state
            assert sfn.start_sync_execution(stateMachineArn=arn, input="{}")["status"] == "FAILED"
        good = json.dumps({"customer": {"id": "c-1"}, "lines": [{"sku": "A", "quantity": 2}]})
        for i in range(2):
            r = sfn.start_sync_execution(stateMachineArn=arn, name=f"good-{i}", input=good)
            assert r["status"] == "SUCCEEDED", r
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--virtual-time-budget=5000", "--window-size=1400,1000"]
        base = server.url.replace("http://", f"http://{key}:{secret}@")

        def browse(url, *extra):
            profile = tempfile.mkdtemp()
            p = subprocess.run([chromium, *flags, f"--user-data-dir={profile}", *extra, url],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr[-2000:]
            return p.stdout

        # No #machine= in the address: the page opens on the machine that ran last.
        dom = browse(base + "/", "--dump-dom")
        assert "<svg" in dom, dom[:2000]
        assert '<h2 id="title">order</h2>' in dom, "the page opens on the busy machine"
        for state in ("CheckOrder", "PriceLines", "PriceLine", "ReserveAndBill", "Reserve", "Bill", "Rejected"):
            assert f"<title>{state}\n" in dom, f"the diagram lacks {state}"
        assert 'data-count="started"' in dom and "<b>5</b>started" in dom, "execution counts are shown"
        assert "<b>3</b>failed" in dom
        assert "▶3 ✔0 ✖3 ↻0" in dom, "the Fail state's counts are on the diagram"
        assert "▶0 ✔0 ✖0 ↻0" in dom, "a state never entered has a zero badge"
        assert "Rejected" in dom and "States.Runtime" not in dom
        # The machine logs no execution data: its failures' causes are not on the page.
        assert 'class="redacted"' in dom and "error and cause hidden" in dom, "failures are redacted"

        browser = Browser(chromium, [f for f in flags if not f.startswith("--virtual-time")])
        try:
            browser.call("Network.enable")
            import base64
            auth = base64.b64encode(f"{key}:{secret}".encode()).decode()
            browser.call("Network.setExtraHTTPHeaders", headers={"Authorization": f"Basic {auth}"})
            browser.width(1400)
            browser.call("Page.navigate", url=server.url + "/")
            browser.until("document.querySelectorAll('#diagram text.badge').length > 0"
                          " && [...document.querySelectorAll('#diagram text.badge')].every((t) => t.textContent)",
                          "filled badges")
            assert browser.eval("document.getElementById('title').textContent") == "order"
            badges = {b["state"]: b for b in browser.eval(BADGES)}
            assert set(badges) >= {"CheckOrder", "PriceLine", "Reserve", "Bill", "Report", "Rejected", "Failed"}, badges
            for b in badges.values():
                assert b["inside"], f"the badge of {b['state']} lies inside its box: {b}"
            assert badges["Rejected"]["text"] == "▶3 ✔0 ✖3 ↻0" and badges["Rejected"]["fill"] == "#dc2626", badges
            assert badges["CheckOrder"]["text"] == "▶5 ✔5 ✖0 ↻0", badges["CheckOrder"]
            assert badges["Failed"]["text"] == "▶0 ✔0 ✖0 ↻0" and badges["Failed"]["idle"], badges["Failed"]
            for px in (1280, 1400, 1600, 1920):
                browser.width(px)
                tiles = browser.eval(TILES)
                assert tiles == {"count": 9, "rows": 1, "bad": []}, (px, tiles)
            browser.width(1400)
            os.makedirs(artifacts, exist_ok=True)
            browser.screenshot(os.path.join(artifacts, "page.png"))

            browser.eval("document.querySelector('#tabs a[data-view=executions]').click()")
            browser.until("!document.getElementById('executions').hidden"
                          " && document.querySelectorAll('#recent tbody tr').length === 5", "recent executions")
            assert "view=executions" in browser.eval("location.hash")
            rows = browser.eval("""[...document.querySelectorAll('#recent tbody tr')].map((r) =>
                [...r.cells].map((c) => c.textContent))""")
            assert [r[0] for r in rows[:2]] == ["good-1", "good-0"], rows
            assert [r[1] for r in rows] == ["SUCCEEDED"] * 2 + ["FAILED"] * 3, rows
            assert all(r[3].endswith(" ms") or r[3].endswith(" s") for r in rows), rows
            assert rows[2][4] == "hidden (see above)", rows[2]
            assert "includeExecutionData" in browser.eval("document.getElementById('hidden').textContent")
            assert browser.eval("document.getElementById('overview').hidden")
            browser.screenshot(os.path.join(artifacts, "executions.png"))
        finally:
            browser.close()
        # The ring is bounded: a busy machine keeps its last 50 executions, and its failures
        # stay on the page however many successes follow them.
        idle = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:aaa-idle"
        for _ in range(60):
            sfn.start_sync_execution(stateMachineArn=idle)
        for _ in range(2):
            sfn.start_sync_execution(stateMachineArn=arn, input=good)
        _, _, feed = get(server.url, "/ui/machines", auth=(key, secret))
        machines = {m["name"]: m for m in json.loads(feed)}
        assert len(machines["aaa-idle"]["recent_executions"]) == 50, machines["aaa-idle"]
        assert [e["status"] for e in machines["order"]["recent_executions"]] == ["SUCCEEDED"] * 4 + ["FAILED"] * 3
        assert len(machines["order"]["recent_failures"]) == 3
    finally:
        server.stop()


def throttling(binary):
    """Past --max-in-flight, starts are refused at once with ThrottlingException, and the
    server takes work again once executions end."""
    server = Server(binary, "--max-in-flight", "1")
    try:
        sfn = client(server.url)
        wait = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
        arn = sfn.create_state_machine(name="slow", definition=wait, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
        sfn.start_execution(stateMachineArn=arn)
        msg = expect_error("ThrottlingException", sfn.start_execution, stateMachineArn=arn)
        assert msg == "Rate exceeded", msg
        expect_error("ThrottlingException", sfn.start_sync_execution, stateMachineArn=arn)
        time.sleep(1.5)
        assert sfn.start_sync_execution(stateMachineArn=arn)["status"] == "SUCCEEDED"
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--chromium", help="check the live page in this headless Chromium")
    parser.add_argument("--artifacts", default="target/e2e-artifacts")
    args = parser.parse_args()
    if args.chromium:
        page(args.bin, args.chromium, args.artifacts)
        print("e2e: the live page checks passed")
        return
    server = Server(args.bin, lambda_url=lambda_server())
    try:
        sfn = client(server.url)
        state_machines(sfn, server.url)
        lambda_endpoints(sfn)
        executions(sfn, server)
        test_state(sfn)
        raw_errors(server.url)
        aws_cli(server.url)
        assert server.proc.poll() is None, "the server is still serving after every bad request"
    finally:
        server.stop()
    signed(args.bin)
    throttling(args.bin)
    print("e2e: boto3 and AWS CLI checks passed")


if __name__ == "__main__":
    main()
