"""End-to-end test of activities and task tokens on `statejet serve`, through boto3.

Usage: python callbacks.py --bin target/debug/statejet [--activities-only]

Starts its own server on a free loopback port and drives every activity and task-token
operation, with their errors: CreateActivity/DescribeActivity/ListActivities (paging)/
DeleteActivity, GetActivityTask (a task, and the empty answer when none comes),
SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat (a heartbeat timeout, a spent token, a
garbage token, a deleted activity's token, invalid output, SendTaskFailure caught by Catch), `.waitForTaskToken` on
`lambda:invoke`, and the Activity*/Task* events of GetExecutionHistory. `--activities-only`
leaves out what needs STANDARD executions. Exits non-zero on the first expectation that fails.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import botocore
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/statejet"


class Server:
    """A `statejet serve` process on a free port."""

    def __init__(self, binary, functions):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"functions": functions}, f)
        f.close()
        self.logs = tempfile.NamedTemporaryFile("w+", suffix=".jsonl", delete=False)
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--functions", f.name,
             "--logs", self.logs.name, "--activity-poll-seconds", "2"],
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


def client(url):
    return boto3.client(
        "stepfunctions", endpoint_url=url, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, read_timeout=90))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def error_of(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} succeeded where an error was expected")


def activities(sfn):
    out = sfn.create_activity(name="approve")
    arn = out["activityArn"]
    check(arn == f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approve", "CreateActivity's ARN")
    again = sfn.create_activity(name="approve")
    check(again["activityArn"] == arn and again["creationDate"] == out["creationDate"],
          "CreateActivity is idempotent on the name")
    d = sfn.describe_activity(activityArn=arn)
    check(d["name"] == "approve" and d["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"},
          "DescribeActivity")
    check(error_of(sfn.create_activity, name="bad name") == ("InvalidName", "Invalid Name: 'bad name'"),
          "an invalid activity name is InvalidName")
    missing = f"arn:aws:states:{REGION}:{ACCOUNT}:activity:missing"
    check(error_of(sfn.describe_activity, activityArn=missing)
          == ("ActivityDoesNotExist", f"Activity Does Not Exist: '{missing}'"),
          "DescribeActivity of an unknown activity")
    check(error_of(sfn.get_activity_task, activityArn="nope")
          == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: nope'"),
          "GetActivityTask of a malformed ARN")
    check(error_of(sfn.get_activity_task, activityArn=missing)[0] == "ActivityDoesNotExist",
          "GetActivityTask of an unknown activity")
    for n in range(5):
        sfn.create_activity(name=f"page-{n}", tags=[{"key": "n", "value": str(n)}])
    check(sfn.list_tags_for_resource(resourceArn=f"arn:aws:states:{REGION}:{ACCOUNT}:activity:page-3")
          ["tags"] == [{"key": "n", "value": "3"}], "an activity's tags")
    names, token = [], None
    while True:
        kwargs = {"maxResults": 2, **({"nextToken": token} if token else {})}
        page = sfn.list_activities(**kwargs)
        check(len(page["activities"]) <= 2, "ListActivities pages hold at most maxResults")
        names += [a["name"] for a in page["activities"]]
        token = page.get("nextToken")
        if not token:
            break
    check(names == ["approve"] + [f"page-{n}" for n in range(5)], "ListActivities pages through all")
    for n in range(5):
        sfn.delete_activity(activityArn=f"arn:aws:states:{REGION}:{ACCOUNT}:activity:page-{n}")
    sfn.delete_activity(activityArn=missing)
    check([a["name"] for a in sfn.list_activities()["activities"]] == ["approve"],
          "DeleteActivity (also of an unknown one)")
    began = time.time()
    empty = sfn.get_activity_task(activityArn=arn, workerName="w")
    check("taskToken" not in empty and time.time() - began >= 1.9,
          "GetActivityTask without a task waits its time and answers no taskToken")
    for op in (lambda t: sfn.send_task_success(taskToken=t, output="{}"),
               lambda t: sfn.send_task_failure(taskToken=t),
               lambda t: sfn.send_task_heartbeat(taskToken=t)):
        check(error_of(op, "NoSuchTaskToken") == ("InvalidToken", "Invalid Token: 'Invalid token'"),
              "a garbage token is InvalidToken")
    return arn


def history(sfn, execution_arn):
    return sfn.get_execution_history(executionArn=execution_arn)["events"]


def wait_status(sfn, execution_arn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=execution_arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running")


def machine(sfn, name, definition):
    return sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                    roleArn=ROLE)["stateMachineArn"]


def standard(sfn, activity_arn):
    # An activity task: taken by a worker, heartbeat, success.
    sm = machine(sfn, "approval", {"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task", "Resource": activity_arn, "TimeoutSeconds": 60, "HeartbeatSeconds": 10,
        "End": True}}})
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"order": 7}))["executionArn"]
    task = sfn.get_activity_task(activityArn=activity_arn, workerName="alice")
    check(json.loads(task["input"]) == {"order": 7}, "GetActivityTask hands out the task's input")
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    check(error_of(sfn.send_task_success, taskToken=task["taskToken"], output="not json")[0]
          == "InvalidOutput", "SendTaskSuccess with output that is not JSON is InvalidOutput")
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"approved": True}))
    d = wait_status(sfn, ex)
    check(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"approved": True},
          "the activity's output is the execution's")
    events = history(sfn, ex)
    check([e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"], "an activity's history")
    check(events[2]["activityScheduledEventDetails"] == {
        "resource": activity_arn, "input": json.dumps({"order": 7}, separators=(",", ":")),
        "inputDetails": {"truncated": False}, "timeoutInSeconds": 60, "heartbeatInSeconds": 10},
        "ActivityScheduled's details")
    check(events[3]["activityStartedEventDetails"] == {"workerName": "alice"}, "ActivityStarted's worker")
    check(events[3]["previousEventId"] == 3 and events[4]["previousEventId"] == 4, "the events' links")
    code, message = error_of(sfn.send_task_success, taskToken=task["taskToken"], output="{}")
    check((code, message) == ("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"),
          "a spent token is TaskTimedOut")

    # A missed heartbeat: States.Timeout.
    sm = machine(sfn, "heartbeat", {"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task", "Resource": activity_arn, "HeartbeatSeconds": 1, "End": True}}})
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity_arn)
    d = wait_status(sfn, ex)
    check(d["status"] == "FAILED" and d["error"] == "States.Timeout", "a missed heartbeat fails with States.Timeout")
    events = history(sfn, ex)
    check(events[-2]["type"] == "ActivityTimedOut"
          and events[-2]["activityTimedOutEventDetails"] == {"error": "States.Timeout"},
          "ActivityTimedOut as AWS records it")
    check(error_of(sfn.send_task_heartbeat, taskToken=task["taskToken"])[0] == "TaskTimedOut",
          "a heartbeat after the timeout is TaskTimedOut")

    # .waitForTaskToken on lambda:invoke; SendTaskFailure caught by Catch.
    sm = machine(sfn, "callback", {"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}},
                "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "No"}],
                "End": True},
        "No": {"Type": "Pass", "End": True}}})
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token = None
    deadline = time.time() + 10
    while token is None and time.time() < deadline:
        for e in history(sfn, ex):
            if e["type"] == "TaskScheduled":
                token = json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        time.sleep(0.05)
    check(token is not None, "the token is in TaskScheduled's parameters")
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="over budget")
    d = wait_status(sfn, ex)
    check(d["status"] == "SUCCEEDED"
          and json.loads(d["output"])["why"] == {"Error": "Rejected", "Cause": "over budget"},
          "SendTaskFailure's error is caught by Catch")
    types = [e["type"] for e in history(sfn, ex)]
    check(types[:6] == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                        "TaskSubmitted", "TaskFailed"], "a callback's history")

    # A stopped execution takes its token with it.
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    # StartExecution answers before the Task is scheduled: wait for it, whatever the machine's load.
    deadline = time.time() + 20
    while time.time() < deadline and not any(e["type"] == "TaskScheduled" for e in history(sfn, ex)):
        time.sleep(0.05)
    sfn.stop_execution(executionArn=ex)
    token = next(json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
                 for e in history(sfn, ex) if e["type"] == "TaskScheduled")
    check(error_of(sfn.send_task_success, taskToken=token, output="{}")[0] == "TaskTimedOut",
          "a stopped execution's token is TaskTimedOut")

    # A deleted activity: its tasks' tokens are TaskDoesNotExist (AWS: "The activity does not
    # exist"), whether the task still waits or has ended; one made again under the same name is
    # another activity.
    doomed = sfn.create_activity(name="doomed")["activityArn"]
    sm = machine(sfn, "doomed", {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": doomed, "End": True}}})
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    task = sfn.get_activity_task(activityArn=doomed, workerName="w")
    sfn.delete_activity(activityArn=doomed)
    for op in (lambda: sfn.send_task_heartbeat(taskToken=task["taskToken"]),
               lambda: sfn.send_task_success(taskToken=task["taskToken"], output="{}"),
               lambda: sfn.send_task_failure(taskToken=task["taskToken"])):
        check(error_of(op) == ("TaskDoesNotExist", "Task Does Not Exist: 'The activity of this task does not exist'"),
              "a deleted activity's task token is TaskDoesNotExist")
    sfn.stop_execution(executionArn=ex)
    sfn.create_activity(name="doomed")
    check(error_of(sfn.send_task_heartbeat, taskToken=task["taskToken"])[0] == "TaskDoesNotExist",
          "an activity made again under the name is not the old token's")
    sfn.delete_activity(activityArn=doomed)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--activities-only", action="store_true")
    args = p.parse_args()
    server = Server(args.bin, {"notify": {"return": {"sent": True}}})
    try:
        sfn = client(server.url)
        arn = activities(sfn)
        if not args.activities_only:
            standard(sfn, arn)
    finally:
        server.stop()
    print("all callback checks passed")


if __name__ == "__main__":
    main()
