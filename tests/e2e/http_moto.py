#!/usr/bin/env python3
"""The HTTP Task with an EventBridge connection served by moto: statejet reads the connection
with DescribeConnection and its secret (the API key value) from Secrets Manager, as Step
Functions does, and calls a local HTTP server with the key in its header. Also: a connection
that does not exist, and one that the connections file gives instead.

Usage: http_moto.py --bin target/debug/statejet   (run with the venv's python that has moto)
"""
import argparse
import http.server
import json
import os
import tempfile
import threading

import boto3

from aws_moto import Runner, start_moto


def api_server():
    """Records each request's path and headers; answers JSON, or 500 on /fail."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length).decode() if length else ""
            seen.append({"method": self.command, "path": self.path,
                         "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            status = 500 if self.path.startswith("/fail") else 200
            data = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def http_task(endpoint, connection_arn, **extra):
    state = {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
             "Parameters": {"ApiEndpoint": endpoint, "Method": "POST",
                            "Authentication": {"ConnectionArn": connection_arn},
                            "RequestBody": {"order": 7}}, "End": True}
    state.update(extra)
    return {"StartAt": "Call", "States": {"Call": state}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()

    moto, endpoint = start_moto()
    home = tempfile.mkdtemp(prefix="statejet-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "STATEJET_CONNECTIONS"}
    env.update({"HOME": home, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"})
    events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    r = Runner(args.bin, env)
    server, seen = api_server()
    base = "http://127.0.0.1:%d" % server.server_address[1]
    try:
        conn = events.create_connection(
            Name="orders-api", AuthorizationType="API_KEY",
            AuthParameters={
                "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "moto-s3cr3t"},
                "InvocationHttpParameters": {"HeaderParameters": [
                    {"Key": "X-Tenant", "Value": "acme", "IsValueSecret": False}]},
            })["ConnectionArn"]

        got = r.run(http_task(base + "/orders", conn))
        req = seen[-1] if seen else {}
        r.check("an EventBridge connection authorizes the call (key from its secret)",
                got.get("status") == "SUCCEEDED" and got["output"]["ResponseBody"] == {"ok": True}
                and got["output"]["StatusCode"] == 200
                and req.get("headers", {}).get("x-api-key") == "moto-s3cr3t"
                and req.get("headers", {}).get("x-tenant") == "acme"
                and json.loads(req.get("body") or "null") == {"order": 7}, [got, req])

        got = r.run(http_task(base + "/fail", conn))
        r.check("a 500 answer is States.Http.StatusCode.500, without the key",
                got.get("error") == "States.Http.StatusCode.500"
                and "moto-s3cr3t" not in json.dumps(got), got)

        missing = conn.replace("orders-api", "nope")
        got = r.run(http_task(base + "/orders", missing))
        r.check("a connection EventBridge lacks fails clearly",
                got.get("error") == "Events.ConnectionResource.ResourceNotFound"
                and "EventBridge has no connection 'nope'" in got.get("cause", ""), got)

        # The connections file wins over EventBridge for the connections it names.
        path = os.path.join(r.dir, "connections.json")
        with open(path, "w") as fh:
            json.dump({"Connections": {"orders-api": {"AuthorizationType": "BASIC", "AuthParameters": {
                "BasicAuthParameters": {"Username": "u", "Password": "p"}}}}}, fh)
        before = len(seen)
        got = r.run(http_task(base + "/orders", conn), env={"STATEJET_CONNECTIONS": path})
        req = seen[-1] if len(seen) > before else {}
        r.check("the connections file answers before EventBridge",
                got.get("status") == "SUCCEEDED"
                and req.get("headers", {}).get("authorization") == "Basic dTpw"
                and "x-api-key" not in req.get("headers", {}), [got, req])
    finally:
        server.shutdown()
        moto.kill()
        moto.wait()
    if r.failures:
        raise SystemExit("%d check(s) failed" % r.failures)


if __name__ == "__main__":
    main()
