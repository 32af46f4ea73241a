"""The live page's execution view in headless Chromium, for real STANDARD executions: one that
succeeded, one that failed through a Catch into a Fail state, and one waiting for a person's
approval (an activity) that then goes on while the page is open. Checks each state's status on
the graph, the input and output of a chosen state, and the event table against
GetExecutionHistory; that the data feeds need the server's credentials as the API does; and
that execution data reaches the page only where the machine's logging includes it.

Usage: python execution_view.py --bin target/debug/statejet --chromium /usr/bin/chromium
Screenshots go to target/e2e-artifacts/ (standard-executions.png, execution-*.png).
"""

import argparse
import base64
import json
import os
import shutil
import tempfile
import time
import urllib.parse

from sfn_clients import ACCOUNT, REGION, ROLE, Browser, Server, client, get

KEY, SECRET = "AKIDINSPECT", "inspect-secret"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
# In every input, so that its absence from a redacted feed or page can be checked.
SECRET_ID = "c-4111-1111-1111-1111"
GOOD = {"customer": {"id": SECRET_ID}, "lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]}
WITH_DATA = {"level": "ALL", "includeExecutionData": True, "destinations": [
    {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:inspect:*"}}]}

# Each state's badge in the execution view: its status, its text, and whether it lies inside
# its state's box.
STATES = """(() => Object.fromEntries([...document.querySelectorAll('#exec-diagram svg text.badge')].map((t) => {
  const g = t.closest('g[id]');
  const box = g.querySelector(':scope > rect, :scope > polygon').getBBox();
  const b = t.getBBox();
  return [t.dataset.state, {status: g.dataset.status || '', text: t.textContent,
    inside: b.width > 0 && b.x >= box.x && b.x + b.width <= box.x + box.width
      && b.y >= box.y && b.y + b.height <= box.y + box.height}];
})))()"""
EVENTS = """[...document.querySelectorAll('#events tbody tr')].map((r) =>
  ({id: Number(r.cells[0].textContent), type: r.cells[1].textContent, state: r.cells[2].textContent,
    failure: r.classList.contains('failure'), details: r.cells[4].textContent}))"""


def feed(url, path, auth=(KEY, SECRET)):
    status, headers, body = get(url, path, auth=auth)
    return status, headers, body


def execution_feed(url, arn):
    status, headers, body = feed(url, "/ui/execution?arn=" + urllib.parse.quote(arn, safe=""))
    assert status == 200, (status, body)
    assert headers["cache-control"] == "no-store", dict(headers)
    return json.loads(body)


def open_execution(browser, url, machine, arn, state=None):
    h = "machine=" + urllib.parse.quote(machine) + "&view=execution&execution=" + urllib.parse.quote(arn, safe="")
    if state:
        h += "&state=" + urllib.parse.quote(state)
    browser.eval(f"location.hash = {json.dumps(h)}")
    browser.until("!document.getElementById('execution').hidden"
                  f" && document.getElementById('exec-facts').textContent.includes({json.dumps(arn)})"
                  " && [...document.querySelectorAll('#exec-diagram svg text.badge')].length > 0"
                  " && [...document.querySelectorAll('#exec-diagram svg text.badge')].every((t) => t.textContent)",
                  f"the execution view of {arn}")


def statuses(browser):
    states = browser.eval(STATES)
    for name, s in states.items():
        assert s["inside"], f"the badge of {name} lies inside its box: {s}"
    return {name: s["status"] for name, s in states.items()}


def check_events(browser, sfn, arn):
    """The event table lists every event of the history, in order, with its state."""
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    rows = browser.eval(EVENTS)
    assert [(r["id"], r["type"]) for r in rows] == [(e["id"], e["type"]) for e in history], (rows, history)
    for r, e in zip(rows, history):
        details = next((v for k, v in e.items() if k.endswith("EventDetails")), {})
        if "name" in details and e["type"].endswith(("Entered", "Exited")):
            assert r["state"] == details["name"], (r, e)
        if e["type"].startswith("Execution"):
            assert r["state"] == "", r
    return rows


def flaky(called):
    """A command function that fails its first call (leaving the file `called`), then succeeds."""
    return {"command": ["sh", "-c", f"cat >/dev/null; if [ -e {called} ]; then echo '{{}}';"
                        f" else touch {called}; echo '{{\"errorType\": \"Flaky\"}}'; exit 1; fi"]}


def edge_cases(sfn, url, counter):
    """Statuses the history alone must tell: a retry's wait (running) and its success, a
    Parallel run again by its Retry, a Map whose iteration failed (the other iterations cut
    off), nested Parallels failing outwards, a stop, and a redrive."""
    def machine(name, states, start):
        definition = json.dumps({"StartAt": start, "States": states})
        return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type="STANDARD",
                                        loggingConfiguration=WITH_DATA)["stateMachineArn"]

    def states(arn):
        return {k: (v["status"], v["entries"]) for k, v in execution_feed(url, arn)["states"].items()}

    flaky = machine("flaky", {"T": {"Type": "Task", "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:flaky",
                                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                                    "End": True}}, "T")
    items = machine("items", {"M": {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
        "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}], "Default": "W"},
            "Bad": {"Type": "Fail", "Error": "Bad"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "End": True}}}}}, "M")
    nested = machine("nested", {"O": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "I", "States": {"I": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "X"}}}]}}}]}}, "O")
    again = machine("again", {"R": {"Type": "Parallel", "End": True, "Retry": [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}], "Branches": [
        {"StartAt": "B", "States": {"B": {"Type": "Task", "End": True,
                                          "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:flaky-branch"}}}]}}, "R")
    waits = machine("waits", {"W": {"Type": "Wait", "Seconds": 100, "End": True}}, "W")
    retried = sfn.start_execution(stateMachineArn=flaky)["executionArn"]
    cut = sfn.start_execution(stateMachineArn=items, input=json.dumps({"items": [1, 2]}))["executionArn"]
    inner = sfn.start_execution(stateMachineArn=nested)["executionArn"]
    branch = sfn.start_execution(stateMachineArn=again)["executionArn"]
    stopped = sfn.start_execution(stateMachineArn=waits)["executionArn"]
    deadline = time.time() + 10
    while not (os.path.exists(counter) and os.path.exists(counter + "-branch")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert states(retried) == {"T": ("running", 1)}, "a Task waiting to retry runs"
    assert states(branch) == {"R": ("running", 1), "B": ("failed", 1)}, states(branch)
    assert states(stopped) == {"W": ("running", 1)}
    sfn.stop_execution(executionArn=stopped)
    assert states(stopped) == {"W": ("aborted", 1)}
    for arn in (retried, cut, inner, branch):
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            time.sleep(0.05)
    assert states(retried) == {"T": ("succeeded", 1)}, states(retried)
    # A Parallel run again by its Retry: its branch's state is judged by its last entry.
    assert states(branch) == {"R": ("succeeded", 1), "B": ("succeeded", 2)}, states(branch)
    # A redriven execution: its failed entry stays failed, the one after the redrive succeeds.
    once = machine("once", {"T": {"Type": "Task", "End": True,
                                  "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:flaky-redrive"}}, "T")
    redriven = sfn.start_execution(stateMachineArn=once)["executionArn"]
    while sfn.describe_execution(executionArn=redriven)["status"] == "RUNNING":
        time.sleep(0.05)
    assert states(redriven) == {"T": ("failed", 1)}, states(redriven)
    sfn.redrive_execution(executionArn=redriven)
    while sfn.describe_execution(executionArn=redriven)["status"] == "RUNNING":
        time.sleep(0.05)
    assert states(redriven) == {"T": ("succeeded", 2)}, states(redriven)
    events = execution_feed(url, redriven)["events"]
    assert [e["type"] for e in events].count("ExecutionRedriven") == 1, events
    first, last = [e for e in events if e["type"] == "TaskStateEntered"]
    assert first["state"] == last["state"] == "T", events
    assert states(cut) == {"M": ("failed", 1), "C": ("succeeded", 2), "Bad": ("failed", 1), "W": ("aborted", 1)}, states(cut)
    assert states(inner) == {"O": ("failed", 1), "I": ("failed", 1), "F": ("failed", 1)}, states(inner)


def run(binary, chromium, artifacts):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "examples/order.asl.json")) as f:
        order = f.read()
    with open(os.path.join(root, "examples/approval/approval.asl.json")) as f:
        approval = f.read()
    # A machine from --definitions logs without execution data: its data stays off the page.
    definitions = tempfile.mkdtemp()
    counter = os.path.join(definitions, "flaky-called")
    with open(os.path.join(definitions, "quiet.standard.asl.json"), "w") as f:
        f.write(order)
    functions = {"reserve": {"return": {"reservationId": "r-1", "held": True}},
                 "bill": {"return": {"invoiceId": "inv-1"}},
                 "decline": {"throw": {"error": "Billing.Declined", "cause": "card declined for " + SECRET_ID}},
                 "flaky": flaky(counter), "flaky-branch": flaky(counter + "-branch"),
                 "flaky-redrive": flaky(counter + "-redrive")}
    server = Server(binary, "--definitions", definitions, "--credentials", f"{KEY}:{SECRET}", functions=functions)
    os.makedirs(artifacts, exist_ok=True)
    try:
        sfn = client(server.url, KEY, SECRET)
        sfn.create_state_machine(name="orders", definition=order, roleArn=ROLE, type="STANDARD",
                                 loggingConfiguration=WITH_DATA)
        declined = order.replace("function:bill", "function:decline")
        sfn.create_state_machine(name="orders-declined", definition=declined, roleArn=ROLE, type="STANDARD",
                                 loggingConfiguration=WITH_DATA)
        sfn.create_state_machine(name="approval", definition=approval, roleArn=ROLE, type="STANDARD",
                                 loggingConfiguration=WITH_DATA)
        sfn.create_state_machine(name="fast", definition=order, roleArn=ROLE, type="EXPRESS")
        activity = sfn.create_activity(name="approve-order")["activityArn"]
        child = sfn.create_state_machine(name="child", roleArn=ROLE, type="STANDARD", loggingConfiguration=WITH_DATA,
                                         definition=json.dumps({"StartAt": "Work", "States": {
                                             "Work": {"Type": "Pass", "Result": {"done": True}, "End": True}}}))["stateMachineArn"]
        sfn.create_state_machine(name="parent", roleArn=ROLE, type="STANDARD", loggingConfiguration=WITH_DATA,
                                 definition=json.dumps({"StartAt": "Start", "States": {"Start": {
                                     "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                                     "Parameters": {"StateMachineArn": child, "Name": "the-child", "Input": {}},
                                     "End": True}}}))

        def finished(arn):
            for _ in range(200):
                d = sfn.describe_execution(executionArn=arn)
                if d["status"] != "RUNNING":
                    return d
                time.sleep(0.05)
            raise AssertionError(f"{arn} did not end")

        good = sfn.start_execution(stateMachineArn=MACHINE + "orders", name="good", input=json.dumps(GOOD))["executionArn"]
        bad = sfn.start_execution(stateMachineArn=MACHINE + "orders-declined", name="declined",
                                  input=json.dumps(GOOD))["executionArn"]
        waiting = sfn.start_execution(stateMachineArn=MACHINE + "approval", name="needs-approval",
                                      input=json.dumps({"order": "A-1001", "amount": 1250}))["executionArn"]
        parent = sfn.start_execution(stateMachineArn=MACHINE + "parent", name="the-parent")["executionArn"]
        quiet = sfn.start_execution(stateMachineArn=MACHINE + "quiet", name="quiet-1", input=json.dumps(GOOD))["executionArn"]
        assert finished(good)["status"] == "SUCCEEDED"
        assert finished(bad)["status"] == "FAILED"
        assert finished(quiet)["status"] == "SUCCEEDED"
        assert finished(parent)["status"] == "SUCCEEDED"
        assert sfn.describe_execution(executionArn=waiting)["status"] == "RUNNING"

        edge_cases(sfn, server.url, counter)

        # The feeds need the server's credentials, as GetExecutionHistory does.
        for path in ("/ui/execution?arn=" + urllib.parse.quote(good, safe=""), "/ui/executions?machine=orders",
                     "/ui/diagram?execution=" + urllib.parse.quote(good, safe="")):
            for auth in (None, (KEY, "wrong"), ("AKIDOTHER", SECRET)):
                status, _, body = feed(server.url, path, auth=auth)
                assert status == 401 and SECRET_ID not in body, (path, auth, status, body)
            assert feed(server.url, path)[0] == 200, path
        assert feed(server.url, "/ui/execution?arn=" + urllib.parse.quote(good + "x", safe=""))[0] == 404
        # Express executions are not retained: no list, and no execution to open.
        _, _, body = feed(server.url, "/ui/executions?machine=fast")
        assert json.loads(body) == {"retained": False}, body
        # Without execution data in the machine's logging, nothing of the input reaches the feed.
        q = execution_feed(server.url, quiet)
        assert SECRET_ID not in json.dumps(q) and "includeExecutionData" in q["redacted"], q
        assert "input" not in q["execution"] and "output" not in q["execution"], q["execution"]
        assert q["states"]["Report"]["status"] == "succeeded" and "input" not in q["states"]["Report"], q["states"]
        scheduled = next(e for e in q["events"] if e["type"] == "TaskScheduled")
        assert set(scheduled["details"]) <= {"resource", "resourceType", "region"}, scheduled
        # With it, the feed carries what GetExecutionHistory answers.
        g = execution_feed(server.url, good)
        assert SECRET_ID in g["execution"]["input"] and "inv-1" in g["execution"]["output"], g["execution"]
        assert "redacted" not in g

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"]
        browser = Browser(chromium, flags)
        try:
            browser.call("Network.enable")
            auth = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
            browser.call("Network.setExtraHTTPHeaders", headers={"Authorization": f"Basic {auth}"})
            browser.width(1400)
            browser.call("Page.navigate", url=server.url + "/#machine=orders&view=executions")
            browser.until("document.getElementById('standard-list') !== null", "the page")
            browser.until("!document.getElementById('standard-list').hidden"
                          " && document.querySelectorAll('#retained tbody a.exec').length === 1", "the retained executions")
            rows = browser.eval("[...document.querySelectorAll('#retained tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))")
            assert rows[0][:2] == ["good", "SUCCEEDED"], rows
            # The running one is listed, and opens from the list.
            browser.eval("location.hash = 'machine=approval&view=executions'")
            browser.until("[...document.querySelectorAll('#retained tbody tr')].some((r) => r.cells[1].textContent === 'RUNNING')",
                          "a running execution in the list")
            browser.screenshot(os.path.join(artifacts, "standard-executions.png"))
            browser.eval("document.querySelector('#retained tbody a.exec').click()")
            browser.until("!document.getElementById('execution').hidden && document.getElementById('exec-name').textContent === 'needs-approval'",
                          "the execution view opened from the list")

            # Waiting for its approval: running, the states after it not entered.
            open_execution(browser, server.url, "approval", waiting)
            assert statuses(browser) == {"AskApproval": "running", "Ship": "not_entered", "Cancel": "not_entered"}, statuses(browser)
            assert browser.eval("document.getElementById('exec-status').textContent") == "statusRUNNING"
            rows = check_events(browser, sfn, waiting)
            assert [r["type"] for r in rows][-1] == "ActivityScheduled", rows
            browser.screenshot(os.path.join(artifacts, "execution-running.png"))
            # The approval arrives while the page is open: the view follows without a reload.
            task = sfn.get_activity_task(activityArn=activity, workerName="inspector")
            sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"approver": "ana"}))
            browser.until("document.getElementById('exec-status').textContent === 'statusSUCCEEDED'"
                          " && document.querySelector('#exec-diagram text.badge[data-state=Ship]').textContent.includes('succeeded')",
                          "the approved execution's end")
            assert statuses(browser) == {"AskApproval": "succeeded", "Ship": "succeeded", "Cancel": "not_entered"}, statuses(browser)
            check_events(browser, sfn, waiting)

            # Succeeded: every state on its path succeeded, the others were not entered.
            open_execution(browser, server.url, "orders", good, state="Report")
            assert statuses(browser) == {
                "CheckOrder": "succeeded", "PriceLines": "succeeded", "PriceLine": "succeeded",
                "ReserveAndBill": "succeeded", "Reserve": "succeeded", "Bill": "succeeded",
                "Report": "succeeded", "Rejected": "not_entered", "Failed": "not_entered"}, statuses(browser)
            assert "×2" in browser.eval("document.querySelector('#exec-diagram text.badge[data-state=PriceLine]').textContent")
            chosen = browser.eval("document.getElementById('exec-state').textContent")
            assert chosen.startswith("Report"), chosen
            output = json.loads(browser.eval("document.getElementById('chosen-output').textContent"))
            assert output == {"customer": SECRET_ID, "lines": 2, "reservation": {"reservationId": "r-1", "held": True},
                              "invoice": {"invoiceId": "inv-1"}}, output
            report_input = json.loads(browser.eval("document.getElementById('chosen-input').textContent"))
            assert report_input["results"][1] == {"invoiceId": "inv-1"}, report_input
            check_events(browser, sfn, good)
            browser.screenshot(os.path.join(artifacts, "execution-succeeded.png"))
            # Choosing a state in the graph shows its input and output.
            browser.eval("document.querySelector('#exec-diagram text.badge[data-state=CheckOrder]').closest('g[id]')"
                         ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
            browser.until("document.getElementById('exec-state').textContent.startsWith('CheckOrder')", "CheckOrder chosen")
            assert json.loads(browser.eval("document.getElementById('chosen-input').textContent")) == GOOD
            # So does a state's name in the event table.
            browser.eval("[...document.querySelectorAll('#events tbody a.exec')].find((a) => a.textContent === 'Bill').click()")
            browser.until("document.getElementById('exec-state').textContent.startsWith('Bill')", "Bill chosen")
            assert json.loads(browser.eval("document.getElementById('chosen-output').textContent")) == {"invoiceId": "inv-1"}

            # Failed: the billing error went through the Parallel's Catch into the Fail state.
            open_execution(browser, server.url, "orders-declined", bad, state="Bill")
            assert statuses(browser) == {
                "CheckOrder": "succeeded", "PriceLines": "succeeded", "PriceLine": "succeeded",
                "ReserveAndBill": "caught", "Reserve": "succeeded", "Bill": "failed",
                "Report": "not_entered", "Rejected": "not_entered", "Failed": "failed"}, statuses(browser)
            assert browser.eval("document.getElementById('exec-status').textContent") == "statusFAILED"
            assert browser.eval("document.getElementById('chosen-error').textContent") == "Billing.Declined"
            assert browser.eval("document.getElementById('chosen-cause').textContent") == "card declined for " + SECRET_ID
            rows = check_events(browser, sfn, bad)
            failures = [(r["type"], r["state"]) for r in rows if r["failure"]]
            assert failures == [("LambdaFunctionFailed", "Bill"), ("ParallelStateFailed", "ReserveAndBill"),
                                ("ExecutionFailed", "")], failures
            assert "Billing.Declined" in next(r for r in rows if r["type"] == "ExecutionFailed")["details"]
            browser.screenshot(os.path.join(artifacts, "execution-failed.png"))

            # An execution a Task started is a link from the events of the one that started it.
            open_execution(browser, server.url, "parent", parent)
            browser.eval("[...document.querySelectorAll('#events a.exec')].find((a) => a.textContent.includes(':execution:child:the-child')).click()")
            browser.until("document.getElementById('exec-name').textContent === 'the-child'"
                          " && document.querySelector('#exec-diagram g.st-succeeded') !== null", "the started execution's view")
            assert statuses(browser) == {"Work": "succeeded"}, statuses(browser)

            # The overview's recent failures of a Standard machine open their execution.
            browser.eval("location.hash = 'machine=orders-declined'")
            browser.until("!document.getElementById('overview').hidden"
                          " && document.querySelector('#failures tbody a.exec') !== null", "a linked failure")
            browser.eval("document.querySelector('#failures tbody a.exec').click()")
            browser.until("!document.getElementById('execution').hidden"
                          " && document.getElementById('exec-name').textContent === 'declined'"
                          " && document.querySelector('#exec-diagram g.st-caught') !== null", "the failure's execution view")

            # A machine whose logging leaves out execution data: statuses and events, no data.
            open_execution(browser, server.url, "quiet", quiet, state="Report")
            assert statuses(browser)["Report"] == "succeeded"
            text = browser.eval("document.body.innerText")
            assert SECRET_ID not in text, "no execution data on the page"
            assert "includeExecutionData" in browser.eval("document.getElementById('exec-hidden').textContent")
            assert browser.eval("document.getElementById('state-hidden') !== null")
            check_events(browser, sfn, quiet)
        finally:
            browser.close()
            shutil.rmtree(browser.profile, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(definitions, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--artifacts", default="target/e2e-artifacts")
    args = parser.parse_args()
    run(args.bin, args.chromium, args.artifacts)
    print("e2e: the execution view checks passed")


if __name__ == "__main__":
    main()
