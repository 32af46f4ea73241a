#!/usr/bin/env python3
"""Step Functions Local's mocks through `statejet serve --mock-config` and boto3: a start with
`stateMachineArn#TestCase` (StartSyncExecution for EXPRESS, StartExecution for STANDARD) runs
the test case's mocked responses; retries take the numbered ones; a mocked
`.waitForTaskToken` answers at once; an unknown test case is `InvalidName`; the same machine
without a test case calls its real resources.

Usage: mocks_serve.py --bin target/debug/statejet   (run with the e2e venv's python)
"""
import argparse
import json
import os
import tempfile
import time

from sfn_clients import ACCOUNT, REGION, ROLE, Server, client, expect_error

MOCKS = {
    "StateMachines": {
        "orders": {"TestCases": {
            "HappyPath": {"Charge": "ChargeOk", "Notify": "Sent"},
            "RetryPath": {"Charge": "ChargeFlaky", "Notify": "Sent"},
        }},
        "approvals": {"TestCases": {"Approved": {"Ask": "Yes", "Charge": "ChargeOk"}}},
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}}},
        "ChargeFlaky": {
            "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"}},
            "2": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}},
        },
        "Sent": {"0": {"Return": {"MessageId": "m-1"}}},
        "Yes": {"0": {"Return": {"approved": True}}},
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
    server = Server(args.bin, "--mock-config", path)
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
    finally:
        server.stop()


if __name__ == "__main__":
    main()
