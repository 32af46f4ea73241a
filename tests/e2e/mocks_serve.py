#!/usr/bin/env python3
"""Step Functions Local's mocks, and the HTTP Task on the engine's async path, through
`statejet serve --mock-config --connections` and boto3. A start with
`stateMachineArn#TestCase` (StartSyncExecution for EXPRESS, StartExecution for STANDARD) runs
the test case's mocked responses; retries take the numbered ones; a mocked
`.waitForTaskToken` answers at once; an unknown test case is `InvalidName`; the same machine
without a test case calls its real resources; an HTTP Task calls a loopback server with the
connections file's API key, and a mock test case can answer an HTTP Task too.

Usage: mocks_serve.py --bin target/debug/statejet   (run with the e2e venv's python)
"""
import argparse
import http.server
import json
import os
import tempfile
import threading
import time

from sfn_clients import ACCOUNT, REGION, ROLE, Server, client, expect_error

MOCKS = {
    "StateMachines": {
        "orders": {"TestCases": {
            "HappyPath": {"Charge": "ChargeOk", "Notify": "Sent"},
            "RetryPath": {"Charge": "ChargeFlaky", "Notify": "Sent"},
        }},
        "approvals": {"TestCases": {"Approved": {"Ask": "Yes", "Charge": "ChargeOk"}}},
        "prices": {"TestCases": {"Offline": {"Price": "PriceAnswer"}}},
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}}},
        "ChargeFlaky": {
            "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"}},
            "2": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}},
        },
        "Sent": {"0": {"Return": {"MessageId": "m-1"}}},
        "Yes": {"0": {"Return": {"approved": True}}},
        "PriceAnswer": {"0": {"Return": {"StatusCode": 200, "ResponseBody": {"price": 1}}}},
    },
}

CHARGE = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
          "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                     "MaxAttempts": 3, "BackoffRate": 1}],
          "ResultSelector": {"charged.$": "$.Payload.charged"}, "ResultPath": "$.charge", "Next": "Notify"}
ORDERS = {"StartAt": "Charge", "States": {
    "Charge": CHARGE,
    "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
               "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders", "Message.$": "$"},
               "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.notify", "End": True}}}
APPROVALS = {"StartAt": "Ask", "States": {
    "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/approvals",
                           "MessageBody": {"token.$": "$$.Task.Token"}},
            "ResultPath": "$.answer", "Next": "Charge"},
    "Charge": dict(CHARGE, Next=None, End=True)}}
del APPROVALS["States"]["Charge"]["Next"]


def api_server():
    """Answers {"price": 12} to whoever sends the key; remembers what it saw."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            ok = self.headers.get("x-api-key") == "serve-s3cr3t"
            data = json.dumps({"price": 12} if ok else {"message": "forbidden"}).encode()
            self.send_response(200 if ok else 403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def wait_ended(sfn, arn):
    deadline = time.time() + 30
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.2)
    raise AssertionError(f"{arn} still runs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="statejet-mocks-"), "MockConfigFile.json")
    with open(path, "w") as fh:
        json.dump(MOCKS, fh)
    # No AWS settings: an unmocked service call fails saying so, a mocked one never calls.
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    os.environ["HOME"] = os.path.dirname(path)
    connections = os.path.join(os.path.dirname(path), "connections.json")
    with open(connections, "w") as fh:
        json.dump({"Connections": {"shop": {"AuthorizationType": "API_KEY", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "serve-s3cr3t"}}}}}, fh)
    api, seen = api_server()
    server = Server(args.bin, "--mock-config", path, "--connections", connections)
    try:
        sfn = client(server.url)
        express = sfn.create_state_machine(name="orders", definition=json.dumps(ORDERS), roleArn=ROLE,
                                           type="EXPRESS")["stateMachineArn"]
        r = sfn.start_sync_execution(stateMachineArn=express + "#HappyPath", input='{"order": 7}')
        assert r["status"] == "SUCCEEDED", r
        assert json.loads(r["output"]) == {"order": 7, "charge": {"charged": 42}, "notify": {"id": "m-1"}}, r
        assert r["stateMachineArn"] == express, r
        print("ok   StartSyncExecution with arn#HappyPath")

        standard = sfn.create_state_machine(name="orders-std", definition=json.dumps(ORDERS), roleArn=ROLE,
                                            type="STANDARD")["stateMachineArn"]
        # The test cases belong to the machine named "orders"; orders-std has none.
        expect_error("InvalidName", sfn.start_execution, stateMachineArn=standard + "#RetryPath")
        msg = expect_error("InvalidName", sfn.start_sync_execution, stateMachineArn=express + "#Nope")
        assert msg == ("Invalid mock test case name 'Nope' for state machine 'orders'.Either the test case is "
                       "not defined or the mock configuration file could not be loaded. See logs for details."), msg
        print("ok   unknown test cases are InvalidName")

        approvals = sfn.create_state_machine(name="approvals", definition=json.dumps(APPROVALS), roleArn=ROLE,
                                             type="STANDARD")["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=approvals + "#Approved", name="a-1", input="{}")["executionArn"]
        assert arn == approvals.replace(":stateMachine:", ":execution:") + ":a-1", arn
        d = wait_ended(sfn, arn)
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"]) == {"answer": {"approved": True}, "charge": {"charged": 42}}, d
        print("ok   StartExecution with arn#TestCase; a mocked .waitForTaskToken answers at once")

        # RetryPath on the EXPRESS machine: two throws, then the third invocation returns.
        t0 = time.time()
        r = sfn.start_sync_execution(stateMachineArn=express + "#RetryPath", input="{}")
        assert r["status"] == "SUCCEEDED" and json.loads(r["output"])["charge"] == {"charged": 42}, r
        assert time.time() - t0 >= 2, "the two retries wait their interval"
        print("ok   retries take the numbered responses (0-1 throw, 2 returns)")

        r = sfn.start_sync_execution(stateMachineArn=express, input="{}")
        assert r["status"] == "FAILED", r
        print("ok   without a test case the machine calls its resources (%s)" % r["error"])
        prices = sfn.create_state_machine(name="prices", roleArn=ROLE, type="EXPRESS", definition=json.dumps({
            "StartAt": "Price", "States": {"Price": {
                "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": "http://127.0.0.1:%d/price" % api.server_address[1], "Method": "GET",
                               "Authentication": {"ConnectionArn": f"arn:aws:events:{REGION}:{ACCOUNT}:connection/shop/1"}},
                "OutputPath": "$.ResponseBody", "End": True}}}))["stateMachineArn"]
        r = sfn.start_sync_execution(stateMachineArn=prices, input="{}")
        assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"price": 12}, r
        assert seen and seen[-1].get("x-api-key") == "serve-s3cr3t", seen
        calls = len(seen)
        r = sfn.start_sync_execution(stateMachineArn=prices + "#Offline", input="{}")
        assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"price": 1}, r
        assert len(seen) == calls, "a mocked HTTP Task sends nothing"
        logs = open(server.logs.name).read()
        assert "serve-s3cr3t" not in logs, "the API key reached the logs"
        print("ok   an HTTP Task through serve, and the same one mocked")
    finally:
        server.stop()
        api.shutdown()


if __name__ == "__main__":
    main()
