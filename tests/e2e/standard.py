"""End-to-end test of STANDARD state machines in `statejet serve`, through boto3: retained
executions (describe, list, history, stop, describe-for-execution, redrive), names and
the idempotent restart, the retention bound, versions, aliases and qualified ARNs, and
`--definitions` with `NAME.standard.asl.json`.

Usage: python standard.py --bin target/debug/statejet
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sfn_clients import ACCOUNT, FAIL, REGION, ROLE, Server, client, expect_error  # noqa: E402

PREFIX = f"arn:aws:states:{REGION}:{ACCOUNT}"

# The Pass machine whose history AWS recorded (../shared/reference/standard-and-callbacks.md §2.3,
# LocalStack's test_start_execution snapshot).
RECORDED = json.dumps({"StartAt": "State_1", "States": {
    "State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}})
RECORDED_HISTORY = [
    {"id": 1, "previousEventId": 0, "type": "ExecutionStarted",
     "executionStartedEventDetails": {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": ROLE}},
    {"id": 2, "previousEventId": 0, "type": "PassStateEntered",
     "stateEnteredEventDetails": {"name": "State_1", "input": "{}", "inputDetails": {"truncated": False}}},
    {"id": 3, "previousEventId": 2, "type": "PassStateExited",
     "stateExitedEventDetails": {"name": "State_1", "output": "{\"Arg1\":\"argument1\"}",
                                 "outputDetails": {"truncated": False}}},
    {"id": 4, "previousEventId": 3, "type": "ExecutionSucceeded",
     "executionSucceededEventDetails": {"output": "{\"Arg1\":\"argument1\"}", "outputDetails": {"truncated": False}}},
]


def wait_machine(seconds):
    return json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}})


def ended(sfn, arn, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError(f"{arn} still runs")


def reached(sfn, arn, kind, timeout=20):
    """Waits until the history holds an event of `kind`: StartExecution answers before the first
    state is entered (as on AWS), so a test that stops an execution mid-state waits for it first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(e["type"] == kind for e in events(sfn, arn)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{arn} never reached {kind}")


def events(sfn, arn, **kwargs):
    """The whole history (all pages), timestamps checked and taken out."""
    out, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, **({"nextToken": token} if token else {}), **kwargs)
        for e in page["events"]:
            assert e.pop("timestamp").year >= 2024, e
            out.append(e)
        token = page.get("nextToken")
        if not token:
            return out


def machines_and_history(sfn):
    arn = sfn.create_state_machine(name="recorded", definition=RECORDED, roleArn=ROLE)["stateMachineArn"]
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["type"] == "STANDARD", d
    listed = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "recorded"]
    assert listed[0]["type"] == "STANDARD", listed
    expect_error("StateMachineTypeNotSupported", sfn.start_sync_execution, stateMachineArn=arn)

    started = sfn.start_execution(stateMachineArn=arn, name="first")
    execution = started["executionArn"]
    assert execution == f"{PREFIX}:execution:recorded:first", execution
    d = ended(sfn, execution)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"Arg1": "argument1"}, d
    assert d["stateMachineArn"] == arn and d["name"] == "first" and d["input"] == "{}", d
    assert d["inputDetails"] == {"included": True} and d["outputDetails"] == {"included": True}, d
    assert d["redriveCount"] == 0 and d["redriveStatus"] == "NOT_REDRIVABLE", d
    assert d["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven", d
    assert d["stopDate"] >= d["startDate"], d
    meta = sfn.describe_execution(executionArn=execution, includedData="METADATA_ONLY")
    assert "input" not in meta and "output" not in meta and meta["inputDetails"] == {"included": False}, meta

    # The history, compared whole with AWS's recording.
    history = events(sfn, execution)
    assert history == RECORDED_HISTORY, json.dumps(history, indent=1)
    assert [e["id"] for e in events(sfn, execution, reverseOrder=True)] == [4, 3, 2, 1]
    page = sfn.get_execution_history(executionArn=execution, maxResults=3)
    assert [e["id"] for e in page["events"]] == [1, 2, 3] and page["nextToken"], page
    assert events(sfn, execution, maxResults=1) == RECORDED_HISTORY
    bare = events(sfn, execution, includeExecutionData=False)
    assert bare[1]["stateEnteredEventDetails"] == {"name": "State_1"}, bare[1]
    assert bare[3]["executionSucceededEventDetails"] == {}, bare[3]
    expect_error("InvalidToken", sfn.get_execution_history, executionArn=execution, nextToken="nope")
    expect_error("ExecutionDoesNotExist", sfn.get_execution_history, executionArn=f"{PREFIX}:execution:recorded:none")
    expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=execution)

    # A closed execution's name stays taken while it is retained, whatever the input.
    msg = expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="first")
    assert msg == f"Execution Already Exists: '{execution}'", msg

    # DescribeStateMachineForExecution: the definition the execution ran, across an update.
    sfn.update_state_machine(stateMachineArn=arn, definition=FAIL)
    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert json.loads(for_execution["definition"]) == json.loads(RECORDED), for_execution
    assert for_execution["stateMachineArn"] == arn and for_execution["roleArn"] == ROLE, for_execution
    assert "updateDate" in for_execution and "revisionId" not in for_execution, for_execution
    failed = ended(sfn, sfn.start_execution(stateMachineArn=arn, name="second")["executionArn"])
    assert failed["status"] == "FAILED" and failed["error"] == "Oops" and failed["cause"] == "it broke", failed
    assert "output" not in failed, failed
    after = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    assert json.loads(after["definition"]) == json.loads(FAIL) and after["revisionId"], after
    kinds = [e["type"] for e in events(sfn, failed["executionArn"])]
    assert kinds == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"], kinds
    last = events(sfn, failed["executionArn"])[-1]
    assert last["executionFailedEventDetails"] == {"error": "Oops", "cause": "it broke"}, last
    # A Fail state is the unsuccessful step: a redrive enters it again, and it fails again.
    assert failed["redriveStatus"] == "REDRIVABLE" and "redriveStatusReason" not in failed, failed
    sfn.redrive_execution(executionArn=failed["executionArn"])
    again = ended(sfn, failed["executionArn"])
    assert again["status"] == "FAILED" and again["redriveCount"] == 1, again
    kinds = [e["type"] for e in events(sfn, failed["executionArn"])]
    assert kinds == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed", "ExecutionRedriven",
                     "FailStateEntered", "ExecutionFailed"], kinds


def names_and_stop(sfn):
    arn = sfn.create_state_machine(name="waiting", definition=wait_machine(100), roleArn=ROLE)["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn, name="n1", input='{"a": 1}')
    # The same name and input while it runs: AWS's idempotent restart answers the first.
    again = sfn.start_execution(stateMachineArn=arn, name="n1", input='{"a":1}')
    assert again["executionArn"] == first["executionArn"] and again["startDate"] == first["startDate"], again
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="n1", input='{"a": 2}')
    d = sfn.describe_execution(executionArn=first["executionArn"])
    assert d["status"] == "RUNNING" and "stopDate" not in d and d["input"] == '{"a": 1}', d
    assert d["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven", d
    reached(sfn, first["executionArn"], "WaitStateEntered")
    running = events(sfn, first["executionArn"])
    assert [e["type"] for e in running] == ["ExecutionStarted", "WaitStateEntered"], running

    stopped = sfn.stop_execution(executionArn=first["executionArn"], error="Stopped", cause="by the test")
    assert stopped["stopDate"], stopped
    d = sfn.describe_execution(executionArn=first["executionArn"])
    assert d["status"] == "ABORTED" and d["error"] == "Stopped" and d["cause"] == "by the test", d
    history = events(sfn, first["executionArn"])
    assert [e["type"] for e in history] == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"], history
    assert history[2]["previousEventId"] == 0, history[2]
    assert history[2]["executionAbortedEventDetails"] == {"error": "Stopped", "cause": "by the test"}, history[2]
    # Without error and cause: recorded as {} (AWS's test_stop_execution).
    second = sfn.start_execution(stateMachineArn=arn, name="n2")["executionArn"]
    sfn.stop_execution(executionArn=second)
    last = events(sfn, second)[-1]
    assert last["type"] == "ExecutionAborted" and last["executionAbortedEventDetails"] == {}, last
    assert "error" not in sfn.describe_execution(executionArn=second)
    # Stopping an ended execution changes nothing.
    sfn.stop_execution(executionArn=second, error="Late")
    assert "error" not in sfn.describe_execution(executionArn=second)
    expect_error("ValidationException", sfn.stop_execution, executionArn=second, error="x" * 257)
    expect_error("ExecutionDoesNotExist", sfn.stop_execution, executionArn=f"{PREFIX}:execution:waiting:none")


def redrive(sfn):
    """RedriveExecution: a FAILED execution runs again from its failed state, with that state's
    input and the variables as they were, its history going on after ExecutionRedriven."""
    activity = sfn.create_activity(name="redrive-work")["activityArn"]
    definition = json.dumps({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Assign": {"who": "ann"}, "Result": {"n": 1}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": activity, "Parameters": {"n.$": "$.n", "who.$": "$who"},
                 "End": True}}})
    arn = sfn.create_state_machine(name="redriven", definition=definition, roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="r1")["executionArn"]
    msg = expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=execution)
    assert msg == "Execution is RUNNING and cannot be redriven", msg
    task = sfn.get_activity_task(activityArn=activity, workerName="w1")
    assert json.loads(task["input"]) == {"n": 1, "who": "ann"}, task
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky", cause="try again")
    failed = ended(sfn, execution)
    assert failed["status"] == "FAILED" and failed["redriveStatus"] == "REDRIVABLE", failed
    assert failed["redriveCount"] == 0 and "redriveDate" not in failed, failed

    first = sfn.redrive_execution(executionArn=execution, clientToken="token-1")
    # The same client token answers the same redrive again, and redrives nothing more.
    again = sfn.redrive_execution(executionArn=execution, clientToken="token-1")
    assert again["redriveDate"] == first["redriveDate"], (first, again)
    running = sfn.describe_execution(executionArn=execution)
    assert running["status"] == "RUNNING" and running["redriveCount"] == 1, running
    assert running["redriveDate"] == first["redriveDate"] and "stopDate" not in running, running
    assert running["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven", running
    msg = expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=execution,
                       clientToken="token-2")
    assert msg == "Execution is RUNNING and cannot be redriven", msg
    task = sfn.get_activity_task(activityArn=activity, workerName="w2")
    # The failed state's own input again, and the variable the Pass before it assigned.
    assert json.loads(task["input"]) == {"n": 1, "who": "ann"}, task
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    d = ended(sfn, execution)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"done": True}, d
    assert d["redriveCount"] == 1 and d["redriveDate"] == first["redriveDate"], d
    assert d["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven", d
    assert d["startDate"] == running["startDate"] and d["stopDate"] >= d["redriveDate"], d
    msg = expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=execution)
    assert msg == "Execution is SUCCEEDED and cannot be redriven", msg

    history = events(sfn, execution)
    work_input = json.dumps({"n": 1, "who": "ann"}, separators=(",", ":"))
    entered = {"name": "Work", "input": '{"n":1}', "inputDetails": {"truncated": False}}
    scheduled = {"resource": activity, "input": work_input, "inputDetails": {"truncated": False}}
    expected = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted",
         "executionStartedEventDetails": {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": ROLE}},
        {"id": 2, "previousEventId": 0, "type": "PassStateEntered",
         "stateEnteredEventDetails": {"name": "Prepare", "input": "{}", "inputDetails": {"truncated": False}}},
        {"id": 3, "previousEventId": 2, "type": "PassStateExited",
         "stateExitedEventDetails": {"name": "Prepare", "output": '{"n":1}', "outputDetails": {"truncated": False}}},
        {"id": 4, "previousEventId": 3, "type": "TaskStateEntered", "stateEnteredEventDetails": entered},
        {"id": 5, "previousEventId": 4, "type": "ActivityScheduled", "activityScheduledEventDetails": scheduled},
        {"id": 6, "previousEventId": 5, "type": "ActivityStarted",
         "activityStartedEventDetails": {"workerName": "w1"}},
        {"id": 7, "previousEventId": 6, "type": "ActivityFailed",
         "activityFailedEventDetails": {"error": "Flaky", "cause": "try again"}},
        {"id": 8, "previousEventId": 7, "type": "ExecutionFailed",
         "executionFailedEventDetails": {"error": "Flaky", "cause": "try again"}},
        {"id": 9, "previousEventId": 8, "type": "ExecutionRedriven",
         "executionRedrivenEventDetails": {"redriveCount": 1}},
        {"id": 10, "previousEventId": 9, "type": "TaskStateEntered", "stateEnteredEventDetails": entered},
        {"id": 11, "previousEventId": 10, "type": "ActivityScheduled", "activityScheduledEventDetails": scheduled},
        {"id": 12, "previousEventId": 11, "type": "ActivityStarted",
         "activityStartedEventDetails": {"workerName": "w2"}},
        {"id": 13, "previousEventId": 12, "type": "ActivitySucceeded",
         "activitySucceededEventDetails": {"output": '{"done":true}', "outputDetails": {"truncated": False}}},
        {"id": 14, "previousEventId": 13, "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Work", "output": '{"done":true}', "outputDetails": {"truncated": False}}},
        {"id": 15, "previousEventId": 14, "type": "ExecutionSucceeded",
         "executionSucceededEventDetails": {"output": '{"done":true}', "outputDetails": {"truncated": False}}},
    ]
    assert history == expected, json.dumps(history, indent=1)

    other = sfn.start_execution(stateMachineArn=arn, name="r2")["executionArn"]
    reached(sfn, other, "ActivityScheduled")
    sfn.stop_execution(executionArn=other)
    redriven = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["name"] for e in redriven] == ["r1"] and redriven[0]["redriveCount"] == 1, redriven
    assert redriven[0]["redriveDate"] == first["redriveDate"], redriven
    not_redriven = sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"]
    assert [e["name"] for e in not_redriven] == ["r2"], not_redriven
    expect_error("ValidationException", sfn.list_executions, stateMachineArn=arn, redriveFilter="SOME")

    # ABORTED: the stopped state (an activity task no worker took) is scheduled again.
    sfn.redrive_execution(executionArn=other)
    task = sfn.get_activity_task(activityArn=activity, workerName="w3")
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert ended(sfn, other)["status"] == "SUCCEEDED"
    kinds = [e["type"] for e in events(sfn, other)]
    assert kinds == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "TaskStateEntered",
                     "ActivityScheduled", "ExecutionAborted", "ExecutionRedriven", "TaskStateEntered",
                     "ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "TaskStateExited",
                     "ExecutionSucceeded"], kinds

    # TIMED_OUT: the machine's TimeoutSeconds counts again from the redrive.
    timing = json.dumps({"TimeoutSeconds": 1, "StartAt": "W",
                         "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}})
    t_arn = sfn.create_state_machine(name="timing", definition=timing, roleArn=ROLE)["stateMachineArn"]
    timed = sfn.start_execution(stateMachineArn=t_arn)["executionArn"]
    d = ended(sfn, timed)
    assert d["status"] == "TIMED_OUT" and d["redriveStatus"] == "REDRIVABLE", d
    sfn.redrive_execution(executionArn=timed)
    d = ended(sfn, timed)
    assert d["status"] == "TIMED_OUT" and d["redriveCount"] == 1, d
    kinds = [e["type"] for e in events(sfn, timed)]
    assert kinds == ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut", "ExecutionRedriven",
                     "WaitStateEntered", "ExecutionTimedOut"], kinds

    # A Parallel is re-run whole (AWS re-runs only its failed branches: a documented limit).
    parallel = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "E"}}}]}}})
    p_arn = sfn.create_state_machine(name="par", definition=parallel, roleArn=ROLE)["stateMachineArn"]
    p_exec = sfn.start_execution(stateMachineArn=p_arn)["executionArn"]
    assert ended(sfn, p_exec)["status"] == "FAILED"
    sfn.redrive_execution(executionArn=p_exec)
    assert ended(sfn, p_exec)["status"] == "FAILED"
    kinds = [e["type"] for e in events(sfn, p_exec)]
    assert kinds.count("ParallelStateEntered") == 2 and kinds[-1] == "ExecutionFailed", kinds

    expect_error("ExecutionDoesNotExist", sfn.redrive_execution, executionArn=f"{PREFIX}:execution:redriven:none")
    express = sfn.create_state_machine(name="fast-redrive", definition=RECORDED, roleArn=ROLE,
                                       type="EXPRESS")["stateMachineArn"]
    express_run = sfn.start_execution(stateMachineArn=express)["executionArn"]
    msg = expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=express_run)
    assert msg == "This API action is not supported by EXPRESS state machines", msg


def listing(sfn):
    arn = sfn.create_state_machine(name="listed", definition=RECORDED, roleArn=ROLE)["stateMachineArn"]
    arns = []
    for n in range(5):
        arns.append(sfn.start_execution(stateMachineArn=arn, name=f"e{n}")["executionArn"])
        ended(sfn, arns[-1])
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == arns[::-1], listed  # newest first
    item = listed[0]
    assert item["status"] == "SUCCEEDED" and item["name"] == "e4" and item["stateMachineArn"] == arn, item
    assert item["redriveCount"] == 0 and "stopDate" in item, item
    pages, token = [], None
    while True:
        page = sfn.list_executions(stateMachineArn=arn, maxResults=2, **({"nextToken": token} if token else {}))
        pages.append([e["name"] for e in page["executions"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0"]], pages
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
    assert len(sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]) == 5
    msg = expect_error("ValidationException", sfn.list_executions, stateMachineArn=arn, statusFilter="succeeded")
    assert msg == "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", msg
    msg = expect_error("ValidationException", sfn.list_executions, stateMachineArn=arn, maxResults=1001)
    assert msg.endswith("Member must have value less than or equal to 1000"), msg
    expect_error("StateMachineDoesNotExist", sfn.list_executions, stateMachineArn=f"{PREFIX}:stateMachine:none")


def versions_and_aliases(sfn):
    made = sfn.create_state_machine(name="versioned", definition=RECORDED, roleArn=ROLE, publish=True,
                                    versionDescription="first")
    arn = made["stateMachineArn"]
    assert made["stateMachineVersionArn"] == f"{arn}:1", made
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=FAIL, publish=True)
    assert updated["stateMachineVersionArn"] == f"{arn}:2" and updated["revisionId"], updated
    # Publishing the same revision again answers its version.
    again = sfn.publish_state_machine_version(stateMachineArn=arn)
    assert again["stateMachineVersionArn"] == f"{arn}:2", again
    msg = expect_error("ConflictException", sfn.publish_state_machine_version, stateMachineArn=arn, revisionId="other")
    assert msg.startswith("Failed to publish the State Machine version for revision other."), msg
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"], listed
    v1 = sfn.describe_state_machine(stateMachineArn=f"{arn}:1")
    assert v1["stateMachineArn"] == f"{arn}:1" and json.loads(v1["definition"]) == json.loads(RECORDED), v1
    assert v1["description"] == "first", v1
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=f"{arn}:9")

    # Started through a version: the execution ARN is the machine's, the version is noted.
    through = sfn.start_execution(stateMachineArn=f"{arn}:1", name="v1run")["executionArn"]
    assert through == f"{PREFIX}:execution:versioned:v1run", through
    d = ended(sfn, through)
    assert d["status"] == "SUCCEEDED" and d["stateMachineVersionArn"] == f"{arn}:1", d
    assert "stateMachineAliasArn" not in d, d

    alias = sfn.create_state_machine_alias(
        name="PROD", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    alias_arn = alias["stateMachineAliasArn"]
    assert alias_arn == f"{arn}:PROD", alias
    same = sfn.create_state_machine_alias(
        name="PROD", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    assert same["stateMachineAliasArn"] == alias_arn
    expect_error("ConflictException", sfn.create_state_machine_alias, name="PROD",
                 routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}])
    msg = expect_error("ValidationException", sfn.create_state_machine_alias, name="W",
                       routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 70},
                                             {"stateMachineVersionArn": f"{arn}:2", "weight": 29}])
    assert msg == "Sum of routing configuration weights must equal 100. Received: [70, 29]", msg
    msg = expect_error("ValidationException", sfn.create_state_machine_alias, name="123",
                       routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    assert "regular expression pattern" in msg, msg
    msg = expect_error("ValidationException", sfn.create_state_machine_alias, name="U",
                       routingConfiguration=[{"stateMachineVersionArn": arn, "weight": 100}])
    assert msg == f"Routing configuration must contain state machine version ARNs. Received: [{arn}]", msg
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert described["name"] == "PROD" and described["routingConfiguration"] == [
        {"stateMachineVersionArn": f"{arn}:1", "weight": 100}], described
    via = ended(sfn, sfn.start_execution(stateMachineArn=alias_arn, name="prodrun")["executionArn"])
    assert via["stateMachineAliasArn"] == alias_arn and via["stateMachineVersionArn"] == f"{arn}:1", via
    assert via["status"] == "SUCCEEDED", via
    first = events(sfn, via["executionArn"])[0]["executionStartedEventDetails"]
    assert first["stateMachineAliasArn"] == alias_arn and first["stateMachineVersionArn"] == f"{arn}:1", first
    only_alias = sfn.list_executions(stateMachineArn=alias_arn)["executions"]
    assert [e["name"] for e in only_alias] == ["prodrun"], only_alias
    only_v1 = sfn.list_executions(stateMachineArn=f"{arn}:1")["executions"]
    assert [e["name"] for e in only_v1] == ["prodrun", "v1run"], only_v1

    sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn,
                                   routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}])
    via = ended(sfn, sfn.start_execution(stateMachineArn=alias_arn, name="prodrun2")["executionArn"])
    assert via["status"] == "FAILED" and via["stateMachineVersionArn"] == f"{arn}:2", via
    expect_error("MissingRequiredParameter", sfn.update_state_machine_alias, stateMachineAliasArn=alias_arn)
    expect_error("ResourceNotFound", sfn.describe_state_machine_alias, stateMachineAliasArn=f"{arn}:NONE")
    aliases = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in aliases] == [alias_arn], aliases
    msg = expect_error("ConflictException", sfn.delete_state_machine_version, stateMachineVersionArn=f"{arn}:2")
    assert msg.endswith("Current list of aliases referencing this version: [PROD]"), msg
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)  # already gone: fine
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")
    sfn.update_state_machine(stateMachineArn=arn, definition=RECORDED)
    # Version numbers are never reused.
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == f"{arn}:3"

    # An EXPRESS machine's version starts synchronously too.
    express = sfn.create_state_machine(name="fast", definition=RECORDED, roleArn=ROLE, type="EXPRESS",
                                       publish=True)
    r = sfn.start_sync_execution(stateMachineArn=express["stateMachineVersionArn"])
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"Arg1": "argument1"}, r


def retention(binary):
    server = Server(binary, "--max-retained-executions", "3", "--grace-seconds", "1")
    try:
        sfn = client(server.url)
        waiting = sfn.create_state_machine(name="w", definition=wait_machine(100), roleArn=ROLE)["stateMachineArn"]
        quick = sfn.create_state_machine(name="q", definition=RECORDED, roleArn=ROLE)["stateMachineArn"]
        long_running = sfn.start_execution(stateMachineArn=waiting, name="long")["executionArn"]
        arns = []
        for n in range(5):
            arns.append(sfn.start_execution(stateMachineArn=quick, name=f"q{n}")["executionArn"])
            ended(sfn, arns[-1])
        # Three retained: the running one (never evicted) and the two that ended last.
        assert sfn.describe_execution(executionArn=long_running)["status"] == "RUNNING"
        for gone in arns[:3]:
            expect_error("ExecutionDoesNotExist", sfn.describe_execution, executionArn=gone)
        for kept in arns[3:]:
            assert sfn.describe_execution(executionArn=kept)["status"] == "SUCCEEDED"
        assert [e["name"] for e in sfn.list_executions(stateMachineArn=quick)["executions"]] == ["q4", "q3"]
        # An evicted name is free again.
        sfn.start_execution(stateMachineArn=quick, name="q0")
    finally:
        server.stop()


def memory_bound(binary):
    """--max-retained-memory: the ended executions' estimated bytes are bounded, the oldest
    ended evicted first, a running one never."""
    server = Server(binary, "--max-retained-memory", "16KiB", "--grace-seconds", "1")
    try:
        sfn = client(server.url)
        waiting = sfn.create_state_machine(name="w", definition=wait_machine(100), roleArn=ROLE)["stateMachineArn"]
        quick = sfn.create_state_machine(name="q", definition=RECORDED, roleArn=ROLE)["stateMachineArn"]
        long_running = sfn.start_execution(stateMachineArn=waiting, name="long")["executionArn"]
        arns = []
        for n in range(40):
            arns.append(sfn.start_execution(stateMachineArn=quick, name=f"q{n}")["executionArn"])
            ended(sfn, arns[-1])
        kept = [e["name"] for e in sfn.list_executions(stateMachineArn=quick, maxResults=100)["executions"]]
        # The newest, in order, and not all of them: a few KiB each.
        assert 2 <= len(kept) < 40 and kept == [f"q{n}" for n in range(39, 39 - len(kept), -1)], kept
        expect_error("ExecutionDoesNotExist", sfn.describe_execution, executionArn=arns[0])
        assert sfn.describe_execution(executionArn=long_running)["status"] == "RUNNING"
    finally:
        server.stop()


def definitions_folder(binary):
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "orders.standard.asl.json"), "w") as f:
        f.write(RECORDED)
    with open(os.path.join(folder, "quick.asl.json"), "w") as f:
        f.write(RECORDED)
    server = Server(binary, "--definitions", folder)
    try:
        sfn = client(server.url)
        types = {m["name"]: m["type"] for m in sfn.list_state_machines()["stateMachines"]}
        assert types == {"orders": "STANDARD", "quick": "EXPRESS"}, types
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    server = Server(args.bin)
    try:
        sfn = client(server.url)
        machines_and_history(sfn)
        names_and_stop(sfn)
        listing(sfn)
        redrive(sfn)
        versions_and_aliases(sfn)
    finally:
        server.stop()
    retention(args.bin)
    memory_bound(args.bin)
    definitions_folder(args.bin)
    print("e2e: STANDARD checks passed")


if __name__ == "__main__":
    main()
