"""Runs README.md's commands as a user pastes them, in order, and fails when one breaks.

Usage: python readme.py --bin target/debug/statejet --venv target/e2e-venv

Every ```sh and ```python block of README.md becomes one step of a single bash script, so what a
block exports or starts is there for the blocks after it, as in one terminal. The script runs in a
scratch folder that holds the project's `examples/` and `benches/` (so relative paths work and
nothing is written into the checkout), with `set -euo pipefail`: the first command that fails
stops it, and the test prints that command's block and the output so far.

What cannot be run as written is replaced, each for the reason given here, and nothing else:
- `cargo install --path ...`: the binary under test is put on PATH as `statejet` instead (it is
  the same program; a release build would take minutes);
- `cargo run --release -- ARGS`: runs as `statejet ARGS`, for the same reason;
- `cargo test ...` and `cargo bench ...`: this test is part of `cargo test`;
- `python3 -m venv .venv && . .venv/bin/activate && pip install ...`: activates the suite's own
  virtual environment, which holds the same pinned packages;
- `statejet serve ... &`: listens on a free port (`--listen`, unless the README gives one) and is
  waited for until it answers /health, as a person waits for its "listening" line;
- the README's port 8083 (serve's default) becomes that free port everywhere, so the test never
  meets another server.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks(text):
    """The runnable fenced blocks, in order: (language, first line number, lines)."""
    found, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if lang is None:
            m = re.match(r"^```(\w+)\s*$", line)
            if m:
                lang, start, body = m.group(1), number + 1, []
        elif line.startswith("```"):
            if lang in ("sh", "python"):
                found.append((lang, start, body))
            lang = None
        else:
            body.append(line)
    return found


def commands(lines):
    """Shell lines with their backslash continuations joined."""
    out, pending = [], ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def rewrite(command, venv):
    """One README command as the test runs it (see the module doc for each rule)."""
    stripped = command.strip()
    if re.match(r"^cargo install --path ", stripped):
        return ": installed: the binary under test is on PATH as statejet"
    if re.match(r"^cargo (test|bench)\b", stripped):
        return ": this test is part of cargo test"
    command = re.sub(r"\bcargo run --release -- ", "statejet ", command)
    if re.match(r"^python3 -m venv \S+ && \. \S+/bin/activate && pip install ", stripped):
        return f". {venv}/bin/activate"
    if re.match(r"^statejet serve .*&\s*$", stripped):
        if "--listen" not in stripped:
            stripped = stripped.replace("statejet serve ", "statejet serve --listen 127.0.0.1:8083 ", 1)
        return stripped + "\nwait_for_server"
    return command


PRELUDE = r"""
set -euo pipefail
wait_for_server() {
  for _ in $(seq 1 300); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "readme test: statejet serve did not answer /health on port $PORT within 30 s" >&2
  return 1
}
cleanup() { jobs -p | xargs -r kill 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--venv", required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    venv = os.path.abspath(args.venv)
    port = str(free_port())

    text = open(os.path.join(ROOT, "README.md")).read()
    work = tempfile.mkdtemp(prefix="statejet-readme-")
    for folder in ("examples", "benches"):
        os.symlink(os.path.join(ROOT, folder), os.path.join(work, folder))
    bindir = os.path.join(work, ".bin")
    os.mkdir(bindir)
    os.symlink(binary, os.path.join(bindir, "statejet"))

    script = [PRELUDE]
    for index, (lang, start, lines) in enumerate(blocks(text)):
        script.append(f"echo '--- README.md line {start} ({lang})' >&2")
        if lang == "python":
            path = os.path.join(work, f"block{index}.py")
            with open(path, "w") as f:
                f.write("\n".join(lines).replace("8083", port) + "\n")
            script.append(f"python {path}")
            continue
        for command in commands(lines):
            script.append(rewrite(command, venv).replace("8083", port))
    script_path = os.path.join(work, "readme.sh")
    with open(script_path, "w") as f:
        f.write("\n".join(script) + "\n")

    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PORT"] = port
    env["HOME"] = work  # no ~/.aws of the machine's; the README must say what the clients need
    for key in list(env):
        if key.startswith("AWS_") or key.startswith("VIRTUAL_ENV"):
            del env[key]
    proc = subprocess.run(["bash", script_path], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"readme test: the README's commands failed (exit {proc.returncode}); "
              f"script kept at {script_path}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    print("readme test: every README command ran")


if __name__ == "__main__":
    main()
