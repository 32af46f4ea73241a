"""`statejet serve`'s /metrics read by a real Prometheus parser (prometheus_client's), as a
scrape sees it: every family with HELP and TYPE, histograms well formed, label values bounded,
and the counts moving after executions and API calls. Run from tests/suite/serve.rs."""

import argparse
import shutil
import subprocess
import time

import botocore.session
from prometheus_client.parser import text_string_to_metric_families

from sfn_clients import FAIL, PASS, ROLE, Server, client, expect_error, get, raw_post

# Family names as the parser gives them: a counter's without its `_total`.
FAMILIES = {
    "statejet_executions_started": "counter",
    "statejet_executions_throttled": "counter",
    "statejet_executions_redelivered": "counter",
    "statejet_executions_in_flight": "gauge",
    "statejet_executions_ended": "counter",
    "statejet_execution_duration_seconds": "histogram",
    "statejet_api_requests": "counter",
    "statejet_api_request_duration_seconds": "histogram",
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "statejet_build_info": "gauge",
}


def scrape(url, auth=None):
    """The families of one scrape, by name; checks the content type and the text's shape."""
    status, headers, text = get(url, "/metrics", auth=auth)
    assert status == 200, (status, text)
    assert headers["Content-Type"] == "text/plain; version=0.0.4", headers["Content-Type"]
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in FAMILIES.items():
        assert name in families, f"{name} missing from:\n{text}"
        assert families[name].type == kind, (name, families[name].type)
        assert families[name].documentation, f"{name} has no HELP"
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind != "counter" or name.endswith("_total"), line
            assert kind != "summary", line
    for f in families.values():
        if f.type == "histogram":
            check_histogram(f)
    return families


def check_histogram(family):
    """Buckets ascending in `le` and cumulative, ending at +Inf with `_count`; `_sum` present."""
    series = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_sum"):
            series[key]["sum"] = s.value
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    assert series or family.name == "statejet_api_request_duration_seconds", family
    for key, h in series.items():
        bounds = [le for le, _ in h["buckets"]]
        counts = [n for _, n in h["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == float("inf"), (family.name, key, bounds)
        assert len(bounds) > 10 and bounds[0] <= 0.0001 and 300 in bounds, (family.name, bounds)
        assert counts == sorted(counts), (family.name, key, counts)
        assert counts[-1] == h["count"] and h["sum"] is not None, (family.name, key, h)
        assert h["sum"] >= 0 and (h["count"] > 0 or h["sum"] == 0), (family.name, key, h)


def value(families, name, sample, **labels):
    """The value of one sample (0 when it is not there yet: a series appears on first use)."""
    for s in families[name].samples:
        if s.name == sample and s.labels == labels:
            return s.value
    return 0


def unbounded(families):
    """The API's operation label values outside the Step Functions API and `unknown`."""
    operations = set(botocore.session.get_session().get_service_model("stepfunctions").operation_names)
    seen = {s.labels["operation"] for f in ("statejet_api_requests", "statejet_api_request_duration_seconds")
            for s in families[f].samples}
    return seen - operations - {"unknown"}


def counts_follow_the_load(url):
    sfn = client(url)
    arn = sfn.create_state_machine(name="counted", definition=PASS, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    failing = sfn.create_state_machine(name="counted-fail", definition=FAIL, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    before = scrape(url)
    m = {"state_machine": "counted"}
    for _ in range(3):
        assert sfn.start_sync_execution(stateMachineArn=arn)["status"] == "SUCCEEDED"
    assert sfn.start_sync_execution(stateMachineArn=failing)["status"] == "FAILED"
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn + "-gone")
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    # Made-up targets: each is counted, all under one label value.
    for target in ("AWSStepFunctions.Nope", "AWSStepFunctions.Nope2", "Other.Service", None):
        h = dict(headers, **({"X-Amz-Target": target} if target else {}))
        assert raw_post(url, h, b"{}")[0] == 400
    after = scrape(url)

    def moved(name, sample, **labels):
        return value(after, name, sample, **labels) - value(before, name, sample, **labels)

    assert moved("statejet_executions_started", "statejet_executions_started_total", **m) == 3
    assert moved("statejet_executions_ended", "statejet_executions_ended_total", status="SUCCEEDED", **m) == 3
    assert moved("statejet_executions_ended", "statejet_executions_ended_total", state_machine="counted-fail",
                 status="FAILED") == 1
    assert value(after, "statejet_executions_in_flight", "statejet_executions_in_flight", **m) == 0
    d = "statejet_execution_duration_seconds"
    assert moved(d, d + "_count", **m) == 3
    assert moved(d, d + "_bucket", le="+Inf", **m) == 3
    assert moved(d, d + "_sum", **m) > 0
    assert moved(d, d + "_bucket", le="1", **m) == 3, "a Pass machine ends within a second"

    r, rd = "statejet_api_requests", "statejet_api_request_duration_seconds"
    sync = {"operation": "StartSyncExecution", "code": "200"}
    assert moved(r, r + "_total", **sync) == 4
    assert moved(rd, rd + "_count", **sync) == 4
    assert moved(rd, rd + "_sum", **sync) > 0
    assert moved(r, r + "_total", operation="CreateStateMachine", code="200") == 0, "before the first scrape"
    assert value(after, r, r + "_total", operation="CreateStateMachine", code="200") >= 2
    assert moved(r, r + "_total", operation="DescribeStateMachine", code="400", error="StateMachineDoesNotExist") == 1
    assert moved(rd, rd + "_count", operation="DescribeStateMachine", code="400") == 1
    assert moved(r, r + "_total", operation="unknown", code="400", error="UnknownOperationException") == 4
    assert not unbounded(after), unbounded(after)

    p = after
    # Counted in clock ticks (10 ms): a young server may have used less than one, so the
    # counter is checked for being present and never going back, not for being above zero.
    assert value(p, "process_cpu_seconds", "process_cpu_seconds_total") >= 0
    assert moved("process_cpu_seconds", "process_cpu_seconds_total") >= 0
    rss = value(p, "process_resident_memory_bytes", "process_resident_memory_bytes")
    assert 1 << 20 < rss <= value(p, "process_virtual_memory_bytes", "process_virtual_memory_bytes"), rss
    assert 0 < value(p, "process_open_fds", "process_open_fds") <= value(p, "process_max_fds", "process_max_fds")
    start = value(p, "process_start_time_seconds", "process_start_time_seconds")
    assert time.time() - 600 < start <= time.time() + 1, start
    [info] = after["statejet_build_info"].samples
    assert info.value == 1 and info.labels["version"] and info.labels["profile"] in ("debug", "release"), info
    return after


def promtool_check(url):
    """`promtool check metrics` (Prometheus's own linter), when Debian's prometheus package is
    installed; the test does not install it (about 100 MB for one check)."""
    promtool = shutil.which("promtool")
    if not promtool:
        print("promtool not installed: `promtool check metrics` skipped")
        return
    _, _, text = get(url, "/metrics")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def behind_credentials(binary):
    """With --credentials, a scrape needs HTTP Basic (Prometheus's basic_auth), and parses."""
    key, secret = "AKIDMETRICS", "metrics-secret"
    server = Server(binary, "--credentials", f"{key}:{secret}")
    try:
        assert get(server.url, "/metrics")[0] == 401
        assert get(server.url, "/metrics", auth=(key, "wrong"))[0] == 401
        sfn = client(server.url, key, secret)
        arn = sfn.create_state_machine(name="signed", definition=PASS, roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
        sfn.start_sync_execution(stateMachineArn=arn)
        # An unsigned call is refused before it is known whose it is: counted all the same.
        status, _ = raw_post(server.url, {"X-Amz-Target": "AWSStepFunctions.ListStateMachines"}, b"{}")
        assert status in (400, 403), status
        families = scrape(server.url, auth=(key, secret))
        assert value(families, "statejet_executions_started", "statejet_executions_started_total",
                     state_machine="signed") == 1
        refused = [s for s in families["statejet_api_requests"].samples
                   if s.labels["operation"] == "ListStateMachines" and s.labels["code"] == str(status)]
        assert len(refused) == 1 and refused[0].value == 1 and refused[0].labels.get("error"), refused
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    server = Server(args.bin)
    try:
        counts_follow_the_load(server.url)
        promtool_check(server.url)
    finally:
        server.stop()
    behind_credentials(args.bin)
    print("e2e: the /metrics exposition checks passed")


if __name__ == "__main__":
    main()
