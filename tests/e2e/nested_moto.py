#!/usr/bin/env python3
"""Nested workflows, `.sync` jobs, `apigateway:invoke` and `.waitForTaskToken` on AWS services,
end to end: two `statejet serve` processes, moto's server and a local HTTP server.

Server A runs the parents (STANDARD machines made with boto3). Its `states:startExecution`
starts machines of its own in its engine (fire-and-forget, `.sync`, `.sync:2`,
`.waitForTaskToken`, a failing child, a stopped parent stopping its child, an EXPRESS child),
and machines of server B (another account) through B's Step Functions API, found by
AWS_ENDPOINT_URL_SFN. Every other service is moto's (AWS_ENDPOINT_URL): `.sync` of
glue:startJobRun, athena:startQueryExecution (and its cancel on a timeout), batch:submitJob
(moto's simple batch) and ecs:runTask, each polled through several states by moto's state
manager; `sqs:sendMessage.waitForTaskToken` and `sns:publish.waitForTaskToken` answered by
reading the token from moto's SQS and calling SendTaskSuccess on A. `apigateway:invoke` reaches
a local HTTP server through AWS_ENDPOINT_URL_EXECUTE_API. `statejet run` starts B's machine
`.sync:2` and says clearly why it cannot start a machine without an endpoint's credentials.

Usage: nested_moto.py --bin target/debug/statejet   (the venv's python, with moto and boto3)
"""
import argparse
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_moto import free_port, start_moto  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/statejet"
B_ACCOUNT = "210987654321"


def moto_api_at(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(req).read()


class Serve:
    def __init__(self, binary, env, *extra):
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--logs", os.devnull, *extra],
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.url = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
            if not line and self.proc.poll() is not None:
                break
        if not self.url:
            raise SystemExit("statejet serve did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Checks:
    def __init__(self):
        self.failures = 0

    def check(self, name, ok, got):
        if ok:
            print("ok   %s" % name)
        else:
            self.failures += 1
            print("FAIL %s: %s" % (name, json.dumps(got, default=str)[:3000]))


def echo_server():
    """An HTTP server that answers what it received, 404 on /missing."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            n = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(n).decode() if n else ""
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            if self.path.startswith("/prod/missing"):
                out, status = b'{"message":"Missing Authentication Token"}', 403
            elif self.path.startswith("/prod/text"):
                out, status = b"HelloWorld", 200
            else:
                out = json.dumps({"method": self.command, "path": self.path, "body": body,
                                  "host": self.headers.get("Host"), "x": self.headers.get_all("X-Thing")}).encode()
                status = 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    c = Checks()

    moto, moto_url = start_moto()
    home = tempfile.mkdtemp(prefix="statejet-home-")
    tmp = tempfile.mkdtemp(prefix="statejet-nested-")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env.update({"HOME": home, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_REGION": "us-east-1"})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")

    def moto_client(name):
        return session.client(name, endpoint_url=moto_url)

    def sfn_client(url):
        return session.client("stepfunctions", endpoint_url=url,
                              config=botocore.config.Config(inject_host_prefix=False, retries={"max_attempts": 0}))

    def moto_api(path, body):
        moto_api_at(moto_url, path, body)

    def transition(model, times):
        moto_api("/moto-api/state-manager/set-transition",
                 {"model_name": model, "transition": {"progression": "manual", "times": times}})

    echo, seen = echo_server()
    b = Serve(args.bin, base_env, "--account", B_ACCOUNT)
    env_a = dict(base_env)
    env_a.update({"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_SFN": b.url,
                  "AWS_ENDPOINT_URL_EXECUTE_API": "http://127.0.0.1:%d" % echo.server_address[1]})
    a = Serve(args.bin, env_a)
    sfa, sfb = sfn_client(a.url), sfn_client(b.url)
    count = {"n": 0}

    def machine(sfn, definition, type_="STANDARD", name=None):
        count["n"] += 1
        name = name or "m%d" % count["n"]
        return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE,
                                        type=type_)["stateMachineArn"]

    def finished(sfn, arn, timeout=60):
        deadline = time.time() + timeout
        while True:
            d = sfn.describe_execution(executionArn=arn)
            if d["status"] != "RUNNING" or time.time() > deadline:
                return d
            time.sleep(0.2)

    def run(definition, input=None, timeout=60):
        arn = machine(sfa, definition)
        e = sfa.start_execution(stateMachineArn=arn, input=json.dumps(input or {}))["executionArn"]
        return e, finished(sfa, e, timeout)

    def output(d):
        return json.loads(d.get("output", "null"))

    def task(resource, params, **extra):
        state = {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}
        state.update(extra)
        return {"StartAt": "T", "States": {"T": state}}

    def history(arn):
        return sfa.get_execution_history(executionArn=arn, maxResults=1000)["events"]

    try:
        child = machine(sfa, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
            "got.$": "$", "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name"}, "End": True}}},
            name="child")
        # .sync:2: the child in the same engine, its input and output as JSON.
        e, d = run(task("arn:aws:states:::states:startExecution.sync:2", {
            "StateMachineArn": child, "Name": "kid-1",
            "Input": {"a": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}}))
        out = output(d)
        kid = child.replace(":stateMachine:", ":execution:") + ":kid-1"
        c.check("startExecution.sync:2 runs a machine of the same server", d["status"] == "SUCCEEDED"
                and out["Status"] == "SUCCEEDED" and out["ExecutionArn"] == kid and out["Name"] == "kid-1"
                and out["StateMachineArn"] == child and out["Input"]["a"] == 1
                and out["Output"]["got"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == e
                and out["Output"]["id"] == kid and out["Output"]["name"] == "kid-1"
                and isinstance(out["StartDate"], int) and isinstance(out["StopDate"], int)
                and out["InputDetails"] == {"Included": True} and "SdkHttpMetadata" not in out, d)
        c.check("the child is retained like any other execution",
                sfa.describe_execution(executionArn=kid)["status"] == "SUCCEEDED", kid)
        page = urllib.request.urlopen(a.url + "/ui/executions?machine=child").read().decode()
        c.check("the child is among the live page's last executions", kid in page, page[:500])
        kinds = [ev["type"] for ev in history(e)]
        c.check("the parent's history records TaskSubmitted", "TaskSubmitted" in kinds
                and kinds.index("TaskSubmitted") < kinds.index("TaskSucceeded"), kinds)

        # A version ARN starts that version.
        version = sfa.publish_state_machine_version(stateMachineArn=child)["stateMachineVersionArn"]
        e, d = run(task("arn:aws:states:::states:startExecution.sync:2",
                        {"StateMachineArn": version, "Name": "kid-v1"}))
        kid_v = child.replace(":stateMachine:", ":execution:") + ":kid-v1"
        c.check("a version ARN starts that version", d["status"] == "SUCCEEDED"
                and sfa.describe_execution(executionArn=kid_v).get("stateMachineVersionArn") == version, d)

        # .sync: Output as text.
        e, d = run(task("arn:aws:states:::states:startExecution.sync",
                        {"StateMachineArn": child, "Input": {"b": 2}}))
        out = output(d)
        c.check("startExecution.sync gives Input and Output as text", d["status"] == "SUCCEEDED"
                and isinstance(out["Output"], str) and json.loads(out["Output"])["got"] == {"b": 2}
                and out["Input"] == '{"b":2}' and out["RedriveStatus"] == "NOT_REDRIVABLE", d)

        # Fire-and-forget.
        e, d = run(task("arn:aws:states:::states:startExecution", {"StateMachineArn": child, "Input": "{\"c\":3}"}))
        out = output(d)
        c.check("startExecution answers at once with the child's ARN", d["status"] == "SUCCEEDED"
                and ":execution:child:" in out.get("ExecutionArn", "") and isinstance(out.get("StartDate"), int)
                and out["SdkHttpMetadata"]["HttpStatusCode"] == 200 and "RequestId" in out["SdkResponseMetadata"], d)
        if out.get("ExecutionArn"):
            kd = finished(sfa, out["ExecutionArn"])
            c.check("the fire-and-forget child runs", kd["status"] == "SUCCEEDED"
                    and json.loads(kd["output"])["got"] == {"c": 3}, kd)

        # A failing child fails the parent's task with States.TaskFailed.
        failing = machine(sfa, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}})
        e, d = run(task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": failing}))
        cause = json.loads(d.get("cause", "{}") or "{}")
        c.check("a failed child is States.TaskFailed with its description as the cause",
                d["status"] == "FAILED" and d.get("error") == "States.TaskFailed" and cause.get("Error") == "Boom"
                and cause.get("Cause") == "bad" and cause.get("Status") == "FAILED" and cause.get("Input") == {}, d)

        # An EXPRESS child, .sync.
        express = machine(sfa, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "fast", "End": True}}},
                          type_="EXPRESS")
        e, d = run(task("arn:aws:states:::states:startExecution.sync",
                        {"StateMachineArn": express, "Name": "x1"}))
        out = output(d)
        c.check("an EXPRESS child runs .sync", d["status"] == "SUCCEEDED" and out["Output"] == '"fast"'
                and ":express:" in out["ExecutionArn"] and out["Name"] == "x1", d)

        # A machine this server does not have goes through the endpoint (B has none of it).
        e, d = run(task("arn:aws:states:::states:startExecution.sync",
                        {"StateMachineArn": child.replace(":child", ":nope")}))
        c.check("an unknown child is StepFunctions.StateMachineDoesNotExistException",
                d.get("error") == "StepFunctions.StateMachineDoesNotExistException"
                and "(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;" in d.get("cause", ""), d)

        # Stopping the parent stops the child it waits for.
        slow = machine(sfa, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}}, name="slow")
        arn = machine(sfa, task("arn:aws:states:::states:startExecution.sync:2",
                                {"StateMachineArn": slow, "Name": "slow-kid"}))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        slow_kid = slow.replace(":stateMachine:", ":execution:") + ":slow-kid"
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if sfa.describe_execution(executionArn=slow_kid)["status"] == "RUNNING":
                    break
            except sfa.exceptions.ExecutionDoesNotExist:
                time.sleep(0.1)
        sfa.stop_execution(executionArn=e)
        kd = finished(sfa, slow_kid, 10)
        c.check("StopExecution of the parent stops its .sync child", kd["status"] == "ABORTED", kd)

        # .waitForTaskToken: the child gets the token in its input; SendTaskSuccess ends the task.
        arn = machine(sfa, task("arn:aws:states:::states:startExecution.waitForTaskToken", {
            "StateMachineArn": child, "Name": "token-kid", "Input": {"token.$": "$$.Task.Token"}}))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        token_kid = finished(sfa, child.replace(":stateMachine:", ":execution:") + ":token-kid") \
            if _wait_exists(sfa, child.replace(":stateMachine:", ":execution:") + ":token-kid") else {}
        token = json.loads(token_kid.get("input", "{}")).get("token")
        if token:
            sfa.send_task_success(taskToken=token, output=json.dumps({"done": True}))
        d = finished(sfa, e)
        c.check("startExecution.waitForTaskToken ends with SendTaskSuccess", d["status"] == "SUCCEEDED"
                and output(d) == {"done": True}, d)

        # Another account's machine: through B's API (AWS_ENDPOINT_URL_SFN), polled.
        remote = machine(sfb, {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"remote.$": "$.v"}, "End": True}}}, name="remote")
        e, d = run(task("arn:aws:states:::states:startExecution.sync:2",
                        {"StateMachineArn": remote, "Input": {"v": 7}, "Name": "far"}))
        out = output(d)
        c.check("a machine on another endpoint runs .sync:2 through its API", d["status"] == "SUCCEEDED"
                and out.get("Output") == {"remote": 7} and out.get("Input") == {"v": 7}
                and out.get("ExecutionArn", "").endswith(":%s:execution:remote:far" % B_ACCOUNT)
                and isinstance(out.get("StartDate"), int), d)
        c.check("the remote child is B's execution",
                sfb.describe_execution(executionArn=out.get("ExecutionArn", remote))["status"] == "SUCCEEDED", out)
        remote_fail = machine(sfb, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Far", "Cause": "away"}}})
        e, d = run(task("arn:aws:states:::states:startExecution.sync", {"StateMachineArn": remote_fail}))
        cause = json.loads(d.get("cause", "{}") or "{}")
        c.check("a failed remote child is States.TaskFailed", d.get("error") == "States.TaskFailed"
                and cause.get("Error") == "Far" and cause.get("Status") == "FAILED", d)

        # A remote child whose parent stops waiting (its TimeoutSeconds) is stopped on B.
        remote_slow = machine(sfb, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}})
        e, d = run(task("arn:aws:states:::states:startExecution.sync",
                        {"StateMachineArn": remote_slow, "Name": "far-slow"}, TimeoutSeconds=2))
        far_slow = remote_slow.replace(":stateMachine:", ":execution:") + ":far-slow"
        c.check("a timed-out .sync task stops its remote child", d.get("error") == "States.Timeout"
                and finished(sfb, far_slow, 10)["status"] == "ABORTED", d)

        # statejet run: B's machine through the endpoint; no credentials: a clear failure.
        path = os.path.join(tmp, "parent.asl.json")
        with open(path, "w") as fh:
            json.dump(task("arn:aws:states:::states:startExecution.sync:2",
                           {"StateMachineArn": remote, "Input": {"v": 8}}), fh)
        env_run = dict(base_env, AWS_ENDPOINT_URL_SFN=b.url)
        got = json.loads(subprocess.run([args.bin, "run", path, "--type", "STANDARD", "--result"], env=env_run,
                                        capture_output=True, text=True, timeout=60).stdout)
        c.check("statejet run starts another endpoint's machine .sync:2",
                got.get("output", {}).get("Output") == {"remote": 8}, got)
        env_none = {k: v for k, v in env_run.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        got = json.loads(subprocess.run([args.bin, "run", path, "--type", "STANDARD", "--result"], env=env_none,
                                        capture_output=True, text=True, timeout=60).stdout)
        c.check("statejet run without credentials says why it cannot start the child",
                got.get("error") == "StepFunctions.SdkClientException"
                and "is not a state machine of this statejet process" in (got.get("cause") or ""), got)

        # .sync jobs against moto, each polled through its states.
        glue = moto_client("glue")
        glue.create_job(Name="etl", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
        transition("glue::job_run", 2)
        e, d = run(task("arn:aws:states:::glue:startJobRun.sync", {"JobName": "etl", "Arguments": {"--k": "v"}}))
        out = output(d)
        subs = [ev for ev in history(e) if ev["type"] == "TaskSubmitted"]
        submitted = json.loads(subs[0]["taskSubmittedEventDetails"]["output"]) if subs else {}
        c.check("glue:startJobRun.sync waits for SUCCEEDED", d["status"] == "SUCCEEDED"
                and out.get("JobRunState") == "SUCCEEDED" and out.get("JobName") == "etl"
                and submitted.get("JobName") == "etl" and "JobRunId" in submitted, [d, submitted])
        e, d = run(task("arn:aws:states:::glue:startJobRun", {"JobName": "etl"}))
        c.check("glue:startJobRun answers JobName and JobRunId", d["status"] == "SUCCEEDED"
                and set(output(d)) == {"JobName", "JobRunId"}, d)

        athena = moto_client("athena")
        transition("athena::execution", 2)
        e, d = run(task("arn:aws:states:::athena:startQueryExecution.sync", {
            "QueryString": "SELECT 1", "WorkGroup": "primary",
            "ResultConfiguration": {"OutputLocation": "s3://results/"}}))
        out = output(d)
        c.check("athena:startQueryExecution.sync waits for SUCCEEDED", d["status"] == "SUCCEEDED"
                and out.get("QueryExecution", {}).get("Status", {}).get("State") == "SUCCEEDED", d)
        transition("athena::execution", 100000)
        e, d = run(task("arn:aws:states:::athena:startQueryExecution.sync",
                        {"QueryString": "SELECT 2", "WorkGroup": "primary"}, TimeoutSeconds=2))
        qid = next((json.loads(ev["taskSubmittedEventDetails"]["output"])["QueryExecutionId"]
                    for ev in history(e) if ev["type"] == "TaskSubmitted"), None)
        time.sleep(1)
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] if qid else None
        c.check("a timed-out athena .sync task is States.Timeout and its query is stopped",
                d["status"] == "FAILED" and d.get("error") == "States.Timeout" and state == "CANCELLED", [d, state])
        transition("athena::execution", 1)

        def batch_setup(url):
            moto_api_at(url, "/moto-api/config", {"batch": {"use_docker": False}})
            batch = session.client("batch", endpoint_url=url)
            role = session.client("iam", endpoint_url=url).create_role(
                RoleName="batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            env_arn = batch.create_compute_environment(computeEnvironmentName="cenv", type="UNMANAGED",
                                                       state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
            batch.create_job_queue(jobQueueName="q", state="ENABLED", priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}])
            batch.register_job_definition(jobDefinitionName="jd", type="container",
                                          containerProperties={"image": "busybox", "vcpus": 1, "memory": 128,
                                                               "command": ["true"]})

        batch_setup(moto_url)
        e, d = run(task("arn:aws:states:::batch:submitJob.sync",
                        {"JobName": "j1", "JobQueue": "q", "JobDefinition": "jd"}))
        out = output(d)
        c.check("batch:submitJob.sync waits for SUCCEEDED", d["status"] == "SUCCEEDED"
                and out.get("Status") == "SUCCEEDED" and out.get("JobName") == "j1" and "JobId" in out, d)

        # A failing job (moto's simple batch fails every job when MOTO_SIMPLE_BATCH_FAIL_AFTER is
        # set): `statejet run` with Batch alone pointed at a second moto.
        os.environ["MOTO_SIMPLE_BATCH_FAIL_AFTER"] = "0"
        try:
            moto2, moto2_url = start_moto()
        finally:
            del os.environ["MOTO_SIMPLE_BATCH_FAIL_AFTER"]
        try:
            batch_setup(moto2_url)
            path = os.path.join(tmp, "batch.asl.json")
            with open(path, "w") as fh:
                json.dump(task("arn:aws:states:::batch:submitJob.sync",
                               {"JobName": "j2", "JobQueue": "q", "JobDefinition": "jd"}), fh)
            got = json.loads(subprocess.run([args.bin, "run", path, "--type", "STANDARD", "--result"],
                                            env=dict(base_env, AWS_ENDPOINT_URL_BATCH=moto2_url),
                                            capture_output=True, text=True, timeout=60).stdout)
            cause = json.loads(got.get("cause") or "{}")
            c.check("a failed batch job is States.TaskFailed with the job as the cause",
                    got.get("error") == "States.TaskFailed" and cause.get("Status") == "FAILED"
                    and cause.get("JobName") == "j2", got)
        finally:
            moto2.kill()
            moto2.wait()

        # A .sync job's token: heartbeats keep HeartbeatSeconds' clock, SendTaskSuccess ends it
        # early (and the query it waited for is stopped); without heartbeats it times out.
        transition("athena::execution", 100000)
        arn = machine(sfa, task("arn:aws:states:::athena:startQueryExecution.sync", {
            "QueryString": "SELECT 3", "WorkGroup": "primary", "ClientRequestToken.$": "$$.Task.Token"},
            HeartbeatSeconds=2))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        token, qid = None, None
        deadline = time.time() + 10
        while time.time() < deadline and not (token and qid):
            for ev in history(e):
                if ev["type"] == "TaskScheduled":
                    token = json.loads(ev["taskScheduledEventDetails"]["parameters"])["ClientRequestToken"]
                if ev["type"] == "TaskSubmitted":
                    qid = json.loads(ev["taskSubmittedEventDetails"]["output"])["QueryExecutionId"]
            time.sleep(0.2)
        began = time.time()
        while token and time.time() - began < 3.5:
            sfa.send_task_heartbeat(taskToken=token)
            time.sleep(0.7)
        if token:
            sfa.send_task_success(taskToken=token, output='{"early":true}')
        d = finished(sfa, e)
        time.sleep(1)
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] if qid else None
        c.check("a .sync job's token takes heartbeats and SendTaskSuccess", d["status"] == "SUCCEEDED"
                and output(d) == {"early": True} and state == "CANCELLED", [d, state])
        e, d = run(task("arn:aws:states:::athena:startQueryExecution.sync",
                        {"QueryString": "SELECT 4", "WorkGroup": "primary"}, HeartbeatSeconds=1))
        c.check("a .sync job without heartbeats times out at HeartbeatSeconds", d.get("error") == "States.Timeout", d)
        transition("athena::execution", 1)

        ecs = moto_client("ecs")
        cluster = ecs.create_cluster(clusterName="c")["cluster"]["clusterArn"]
        # Bridge networking: moto 5.2.5 fails RunTask of an awsvpc task (its ENI lacks private_dns_name).
        ecs.register_task_definition(family="td", networkMode="bridge",
                                     containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128}])
        transition("ecs::task", 1)
        e, d = run(task("arn:aws:states:::ecs:runTask.sync",
                        {"Cluster": cluster, "TaskDefinition": "td", "LaunchType": "FARGATE"}))
        out = output(d)
        subs = [ev for ev in history(e) if ev["type"] == "TaskScheduled"]
        c.check("ecs:runTask.sync waits for STOPPED", d["status"] == "SUCCEEDED"
                and out.get("LastStatus") == "STOPPED" and out.get("StartedBy") == "AWS Step Functions"
                and out.get("ClusterArn") == cluster, [d, subs])

        # .waitForTaskToken on SQS and SNS: the token read from moto's queue, sent back to A.
        sqs = moto_client("sqs")
        q = sqs.create_queue(QueueName="work")["QueueUrl"]

        def answer_from_queue(queue_url, unwrap):
            deadline = time.time() + 30
            while time.time() < deadline:
                for m in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []):
                    body = json.loads(m["Body"])
                    if unwrap:
                        body = json.loads(body["Message"])
                    sfa.send_task_success(taskToken=body["token"], output=json.dumps({"answered": body["job"]}))
                    return True
            return False

        arn = machine(sfa, task("arn:aws:states:::sqs:sendMessage.waitForTaskToken", {
            "QueueUrl": q, "MessageBody": {"job": "sqs", "token.$": "$$.Task.Token"}}, HeartbeatSeconds=60))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        answer_from_queue(q, False)
        d = finished(sfa, e)
        c.check("sqs:sendMessage.waitForTaskToken ends with the token sent back", d["status"] == "SUCCEEDED"
                and output(d) == {"answered": "sqs"}, d)
        sns = moto_client("sns")
        topic = sns.create_topic(Name="jobs")["TopicArn"]
        q2 = sqs.create_queue(QueueName="topic-sub")["QueueUrl"]
        q2_arn = sqs.get_queue_attributes(QueueUrl=q2, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q2_arn)
        arn = machine(sfa, task("arn:aws:states:::sns:publish.waitForTaskToken", {
            "TopicArn": topic, "Message": {"job": "sns", "token.$": "$$.Task.Token"}}))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        answer_from_queue(q2, True)
        d = finished(sfa, e)
        c.check("sns:publish.waitForTaskToken ends with the token sent back", d["status"] == "SUCCEEDED"
                and output(d) == {"answered": "sns"}, d)

        events = moto_client("events")
        q3 = sqs.create_queue(QueueName="bus-sub")["QueueUrl"]
        q3_arn = sqs.get_queue_attributes(QueueUrl=q3, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="jobs", EventPattern=json.dumps({"source": ["statejet.nested"]}))
        events.put_targets(Rule="jobs", Targets=[{"Id": "q", "Arn": q3_arn}])
        arn = machine(sfa, task("arn:aws:states:::events:putEvents.waitForTaskToken", {"Entries": [{
            "Source": "statejet.nested", "DetailType": "job", "Detail": {"job": "events", "token.$": "$$.Task.Token"}}]}))
        e = sfa.start_execution(stateMachineArn=arn)["executionArn"]
        deadline = time.time() + 30
        while time.time() < deadline:
            msgs = sqs.receive_message(QueueUrl=q3, WaitTimeSeconds=1).get("Messages", [])
            if msgs:
                detail = json.loads(msgs[0]["Body"])["detail"]
                sfa.send_task_success(taskToken=detail["token"], output=json.dumps({"answered": detail["job"]}))
                break
        d = finished(sfa, e)
        c.check("events:putEvents.waitForTaskToken ends with the token sent back", d["status"] == "SUCCEEDED"
                and output(d) == {"answered": "events"}, d)

        # apigateway:invoke against the local HTTP server.
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod",
            "Path": "bills/1", "QueryParameters": {"billId": ["123", "4 5"]}, "Headers": {"X-Thing": ["a", "b"]}}))
        out = output(d)
        body = out.get("ResponseBody", {})
        c.check("apigateway:invoke GET: path, query, headers, Host, result shape", d["status"] == "SUCCEEDED"
                and body.get("path") == "/prod/bills/1?billId=123&billId=4%205"
                and body.get("host") == "abc123.execute-api.us-east-1.amazonaws.com"
                and body.get("x") == ["a", "b"] and out.get("StatusCode") == 200 and out.get("StatusText") == "OK"
                and out.get("Headers", {}).get("Content-Type") == ["application/json"], d)
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod",
            "Path": "/bills", "RequestBody": {"a": 1, "n": None}}))
        body = output(d).get("ResponseBody", {})
        c.check("apigateway:invoke POST sends the body as JSON without nulls", body.get("method") == "POST"
                and json.loads(body.get("body") or "{}") == {"a": 1}, d)
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod",
            "Path": "bills", "RequestBody": {"n": None}, "AllowNullValues": True}))
        body = output(d).get("ResponseBody", {})
        c.check("apigateway:invoke AllowNullValues keeps nulls", json.loads(body.get("body") or "{}") == {"n": None}, d)
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod",
            "Path": "text"}))
        c.check("apigateway:invoke: a body that is not JSON is a string", output(d).get("ResponseBody") == "HelloWorld", d)
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod",
            "Path": "missing"}))
        c.check("apigateway:invoke 403 is ApiGateway.403 with the body as cause", d.get("error") == "ApiGateway.403"
                and d.get("cause") == '{"message":"Missing Authentication Token"}', d)
        e, d = run(task("arn:aws:states:::apigateway:invoke", {
            "ApiEndpoint": "abc123.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod",
            "AuthType": "IAM_ROLE"}))
        signed = next((v for k, v in seen[-1]["headers"].items() if k.lower() == "authorization"), "") if seen else ""
        c.check("apigateway:invoke IAM_ROLE signs for execute-api", d["status"] == "SUCCEEDED"
                and "/us-east-1/execute-api/aws4_request" in signed, signed)
    finally:
        a.stop()
        b.stop()
        echo.shutdown()
        moto.kill()
        moto.wait()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if c.failures:
        raise SystemExit("%d check(s) failed" % c.failures)


def _wait_exists(sfn, arn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            sfn.describe_execution(executionArn=arn)
            return True
        except sfn.exceptions.ExecutionDoesNotExist:
            time.sleep(0.1)
    return False


if __name__ == "__main__":
    main()
