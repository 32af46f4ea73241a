#!/usr/bin/env python3
"""statejet's AWS service integrations against moto's server, configured by environment alone.

Starts `moto_server` on a free loopback port, makes the resources with boto3, then runs
workflows with `statejet run --result` whose environment points every service at moto
(AWS_ENDPOINT_URL, test credentials, a HOME without shared files). Checks the optimized
integrations moto serves, aws-sdk calls in all four protocols (dynamodb and secretsmanager:
json; lambda: rest-json; sns: query; s3: rest-xml), error naming per protocol, Retry on a
throttling error from a local server, and clear failures for an endpoint that does not answer
and for missing credentials; one call through `statejet serve` (the engine's async path).
Reports every difference, then exits non-zero if there was one.

Usage: aws_moto.py --bin target/debug/statejet   (run with the venv's python that has moto)
"""
import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import botocore.config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, "http://127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("moto_server did not start on port %d" % port)


class Runner:
    def __init__(self, binary, env):
        self.binary = binary
        self.env = env
        self.dir = tempfile.mkdtemp(prefix="statejet-aws-")
        self.failures = 0

    def run(self, definition, input=None, env=None):
        path = os.path.join(self.dir, "machine.asl.json")
        with open(path, "w") as fh:
            json.dump(definition, fh)
        e = dict(self.env)
        e.update(env or {})
        out = subprocess.run([self.binary, "run", path, "--input", json.dumps(input or {}), "--result"],
                             capture_output=True, text=True, env=e, timeout=120)
        if out.returncode != 0:
            raise SystemExit("statejet run failed: %s %s" % (out.stdout, out.stderr))
        return json.loads(out.stdout)

    def check(self, name, ok, got):
        if ok:
            print("ok   %s" % name)
        else:
            self.failures += 1
            print("FAIL %s: %s" % (name, json.dumps(got)[:2000]))


def task(resource, params, **extra):
    state = {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}
    state.update(extra)
    return {"StartAt": "T", "States": {"T": state}}


def throttling_server():
    """A DynamoDB stand-in that throttles the first two calls, then answers."""
    calls = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls["n"] += 1
            if calls["n"] <= 2:
                body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}'
                self.send_response(400)
            else:
                body = b'{"Item":{"id":{"S":"k"}}}'
                self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("x-amzn-RequestId", "req-%d" % calls["n"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()

    moto, endpoint = start_moto()
    home = tempfile.mkdtemp(prefix="statejet-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"HOME": home, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")

    def client(name):
        return session.client(name, endpoint_url=endpoint)

    r = Runner(args.bin, env)
    try:
        ddb = client("dynamodb")
        ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        queue_url = client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
        topic = client("sns").create_topic(Name="news")["TopicArn"]
        client("s3").create_bucket(Bucket="data")
        events = client("events")
        events.create_event_bus(Name="bus")
        seen_url = client("sqs").create_queue(QueueName="seen")["QueueUrl"]
        seen_arn = client("sqs").get_queue_attributes(QueueUrl=seen_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="bus", EventPattern=json.dumps({"source": ["statejet.test"]}))
        events.put_targets(Rule="all", EventBusName="bus", Targets=[{"Id": "q", "Arn": seen_arn}])

        # DynamoDB, optimized: putItem, getItem, updateItem, deleteItem (json 1.0).
        got = r.run(task("arn:aws:states:::dynamodb:putItem",
                         {"TableName": "items", "Item": {"id": {"S": "a"}, "n": {"N": "1"}}}))
        r.check("dynamodb:putItem", got.get("status") == "SUCCEEDED"
                and got["output"]["SdkHttpMetadata"]["HttpStatusCode"] == 200
                and "RequestId" in got["output"]["SdkResponseMetadata"], got)
        got = r.run(task("arn:aws:states:::dynamodb:getItem", {"TableName": "items", "Key": {"id": {"S": "a"}}}))
        r.check("dynamodb:getItem", got.get("status") == "SUCCEEDED"
                and got["output"]["Item"] == {"id": {"S": "a"}, "n": {"N": "1"}}, got)
        got = r.run(task("arn:aws:states:::dynamodb:updateItem",
                         {"TableName": "items", "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET n = :v",
                          "ExpressionAttributeValues": {":v": {"N": "2"}}, "ReturnValues": "UPDATED_NEW"}))
        r.check("dynamodb:updateItem", got.get("status") == "SUCCEEDED"
                and got["output"]["Attributes"] == {"n": {"N": "2"}}, got)
        got = r.run(task("arn:aws:states:::dynamodb:deleteItem", {"TableName": "items", "Key": {"id": {"S": "a"}}}))
        r.check("dynamodb:deleteItem", got.get("status") == "SUCCEEDED"
                and "Item" not in ddb.get_item(TableName="items", Key={"id": {"S": "a"}}), got)
        got = r.run(task("arn:aws:states:::dynamodb:getItem", {"TableName": "missing", "Key": {"id": {"S": "a"}}}))
        r.check("dynamodb:getItem error naming (Java v1)", got.get("error") == "DynamoDB.ResourceNotFoundException"
                and "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: "
                in got.get("cause", ""), got)

        # DynamoDB through aws-sdk: the json protocol, Java v2 naming.
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:putItem",
                         {"TableName": "items", "Item": {"id": {"S": "b"}}}))
        r.check("aws-sdk:dynamodb:putItem", got.get("status") == "SUCCEEDED" and got["output"] == {}, got)
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:query",
                         {"TableName": "items", "KeyConditionExpression": "id = :id",
                          "ExpressionAttributeValues": {":id": {"S": "b"}}}))
        r.check("aws-sdk:dynamodb:query", got.get("status") == "SUCCEEDED" and got["output"]["Count"] == 1
                and got["output"]["Items"] == [{"id": {"S": "b"}}], got)
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": "missing", "Item": {"id": {"S": "b"}}}))
        r.check("aws-sdk:dynamodb error naming", got.get("error") == "DynamoDb.ResourceNotFoundException"
                and "(Service: DynamoDb, Status Code: 400, Request ID: " in got.get("cause", ""), got)
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:describeTable", {"TableName": "items"}))
        created = got.get("output", {}).get("Table", {}).get("CreationDateTime", "")
        r.check("aws-sdk timestamps are ISO-8601 with milliseconds", created.endswith("Z") and "T" in created
                and len(created.split(".")[-1]) == 4, got)

        # Secrets Manager: json 1.1.
        got = r.run({"StartAt": "Create", "States": {
            "Create": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:createSecret",
                       "Parameters": {"Name": "db", "SecretString": "s3cr3t"}, "ResultPath": None, "Next": "Get"},
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
                    "Parameters": {"SecretId": "db"}, "End": True}}})
        r.check("aws-sdk:secretsmanager (json 1.1)", got.get("output", {}).get("SecretString") == "s3cr3t", got)

        # SQS, optimized: a JSON MessageBody is sent as its text.
        got = r.run(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue_url, "MessageBody": {"job": 1}}))
        msgs = client("sqs").receive_message(QueueUrl=queue_url).get("Messages", [])
        r.check("sqs:sendMessage", got.get("status") == "SUCCEEDED" and "MD5OfMessageBody" in got["output"]
                and "MessageId" in got["output"] and msgs and json.loads(msgs[0]["Body"]) == {"job": 1}, got)
        got = r.run(task("arn:aws:states:::aws-sdk:sqs:getQueueUrl", {"QueueName": "nope"}))
        r.check("aws-sdk:sqs error naming", got.get("error") == "Sqs.QueueDoesNotExistException", got)

        # SNS: the query protocol, optimized and aws-sdk.
        got = r.run(task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": {"hello": "world"},
                                                         "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}}))
        r.check("sns:publish (query)", got.get("status") == "SUCCEEDED" and "MessageId" in got["output"]
                and got["output"]["SdkHttpMetadata"]["HttpStatusCode"] == 200, got)
        got = r.run(task("arn:aws:states:::aws-sdk:sns:listTopics", {}))
        r.check("aws-sdk:sns:listTopics (query)", got.get("status") == "SUCCEEDED"
                and {"TopicArn": topic} in got["output"].get("Topics", []), got)
        got = r.run(task("arn:aws:states:::sns:publish", {"TopicArn": topic + "-missing", "Message": "x"}))
        r.check("sns:publish error naming", got.get("error") == "SNS.NotFoundException"
                and "(Service: AmazonSNS; Status Code: 404; Error Code: NotFound; " in got.get("cause", ""), got)

        # S3 through aws-sdk: rest-xml, a JSON-written Body, headers read back.
        got = r.run(task("arn:aws:states:::aws-sdk:s3:putObject", {"Bucket": "data", "Key": "a/b.txt", "Body": "text data"}))
        r.check("aws-sdk:s3:putObject", got.get("status") == "SUCCEEDED" and "ETag" in got["output"], got)
        got = r.run(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data", "Key": "a/b.txt"}))
        out = got.get("output", {})
        r.check("aws-sdk:s3:getObject", out.get("Body") == '"text data"' and out.get("ContentLength") == 11
                and out.get("LastModified", "").endswith("Z"), got)
        got = r.run(task("arn:aws:states:::aws-sdk:s3:listObjectsV2", {"Bucket": "data", "Prefix": "a/"}))
        contents = got.get("output", {}).get("Contents", [])
        r.check("aws-sdk:s3:listObjectsV2", [c.get("Key") for c in contents] == ["a/b.txt"]
                and contents[0].get("Size") == 11, got)
        got = r.run(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data", "Key": "none"}))
        r.check("aws-sdk:s3 error naming (rest-xml)", got.get("error") == "S3.NoSuchKeyException"
                and "(Service: S3, Status Code: 404, Request ID: " in got.get("cause", ""), got)

        # Lambda: rest-json.
        got = r.run(task("arn:aws:states:::aws-sdk:lambda:listFunctions", {}))
        r.check("aws-sdk:lambda:listFunctions (rest-json)", got.get("status") == "SUCCEEDED"
                and got["output"].get("Functions") == [], got)
        got = r.run(task("arn:aws:states:::aws-sdk:lambda:getFunction", {"FunctionName": "nope"}))
        r.check("aws-sdk:lambda error naming (rest-json)", got.get("error") == "Lambda.ResourceNotFoundException", got)
        got = r.run(task("arn:aws:states:::lambda:invoke", {"FunctionName": "nope", "Payload": {}}))
        r.check("lambda:invoke to Lambda for a function not in the functions file",
                got.get("error") == "Lambda.ResourceNotFoundException"
                and "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException" in got.get("cause", ""), got)

        # EventBridge, optimized: putEvents; a failed entry fails the task.
        got = r.run(task("arn:aws:states:::events:putEvents", {"Entries": [
            {"Source": "statejet.test", "DetailType": "t", "Detail": {"a": 1}, "EventBusName": "bus"}]}))
        r.check("events:putEvents", got.get("status") == "SUCCEEDED" and got["output"].get("FailedEntryCount") == 0
                and len(got["output"].get("Entries", [])) == 1 and "SdkHttpMetadata" not in got["output"], got)
        delivered = client("sqs").receive_message(QueueUrl=seen_url, WaitTimeSeconds=2).get("Messages", [])
        event = json.loads(delivered[0]["Body"]) if delivered else {}
        resources = event.get("resources", [])
        r.check("events:putEvents adds the execution's and machine's ARNs to Resources",
                event.get("detail") == {"a": 1} and len(resources) == 2
                and (":express:" in resources[0] or ":execution:" in resources[0])
                and ":stateMachine:" in resources[1], event)

        # `statejet serve`: the same call as a future on the engine's runtime.
        serve = subprocess.Popen([args.bin, "serve", "--listen", "127.0.0.1:0", "--logs", os.devnull],
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
            sfn = session.client("stepfunctions", endpoint_url=url,
                                 config=botocore.config.Config(inject_host_prefix=False))
            arn = sfn.create_state_machine(
                name="get", type="EXPRESS", roleArn="arn:aws:iam::123456789012:role/r",
                definition=json.dumps(task("arn:aws:states:::aws-sdk:dynamodb:getItem",
                                           {"TableName": "items", "Key": {"id": {"S.$": "$.id"}}})))["stateMachineArn"]
            res = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"id": "b"}))
            r.check("statejet serve calls AWS from the engine", res.get("status") == "SUCCEEDED"
                    and json.loads(res["output"]) == {"Item": {"id": {"S": "b"}}}, res)
        finally:
            serve.terminate()
            serve.wait(timeout=30)

        # A parameter the API does not have is named.
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "items", "Keys": {}}))
        r.check("an unknown parameter is named", got.get("error") == "States.Runtime"
                and "'Keys'" in got.get("cause", ""), got)

        # Throttling is an error Retry matches.
        server, calls = throttling_server()
        definition = task("arn:aws:states:::dynamodb:getItem", {"TableName": "t", "Key": {"id": {"S": "k"}}},
                          Retry=[{"ErrorEquals": ["DynamoDB.ThrottlingException"], "IntervalSeconds": 1,
                                  "MaxAttempts": 3, "BackoffRate": 1}])
        got = r.run(definition, env={"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:%d" % server.server_address[1]})
        r.check("throttling is retried", got.get("status") == "SUCCEEDED" and calls["n"] == 3
                and got["output"]["Item"] == {"id": {"S": "k"}}, got)
        server.shutdown()

        # No endpoint answering, no credentials: clear failures.
        got = r.run(task("arn:aws:states:::aws-sdk:dynamodb:listTables", {}),
                    env={"AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % free_port()})
        r.check("an unreachable endpoint fails the task clearly", got.get("error") == "DynamoDb.SdkClientException"
                and "Unable to execute HTTP request: http://127.0.0.1:" in got.get("cause", "")
                and "testing" not in got.get("cause", ""), got)
        got = r.run(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue_url, "MessageBody": "x"}),
                    env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        r.check("missing credentials fail the task clearly", got.get("error") == "SQS.SdkClientException"
                and "Unable to load credentials" in got.get("cause", ""), got)
    finally:
        moto.kill()
        moto.wait()
    if r.failures:
        raise SystemExit("%d check(s) failed" % r.failures)


if __name__ == "__main__":
    main()
