#!/usr/bin/env python3
"""Runs one command on a real pseudo-terminal and drives it like a person at a terminal would.

The spec comes as JSON on stdin:
  {"argv": [...], "env": {...}, "cwd": "...", "rows": 24, "cols": 80,
   "steps": [{"waitFor": "regex", "deadlineSec": 30},
             {"resize": [rows, cols]},
             {"signal": "SIGTERM"},
             {"write": "\\u0003"},
             {"waitExit": true, "deadlineSec": 10}]}

Output is always drained (a child blocked on a full terminal would hide a busy loop), and the
result is one JSON object on stdout: the exit code or signal, the bytes the command wrote, the
start and end of its output, and when each step happened. A step that misses its deadline ends
the run: the command is killed with SIGKILL and `failedStep` names the step. Nothing sleeps:
every wait is a select() with a deadline.
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

KEEP = 64 * 1024


def main():
    spec = json.load(sys.stdin)
    rows, cols = spec.get("rows", 24), spec.get("cols", 80)
    pid, fd = pty.fork()
    if pid == 0:
        # The child's stdin/stdout/stderr are the terminal: give it the window size first.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if spec.get("cwd"):
            os.chdir(spec["cwd"])
        os.execvpe(spec["argv"][0], spec["argv"], spec["env"])

    start = time.monotonic()
    head = bytearray()
    recent = bytearray()
    total = 0
    status = None
    events = []

    def elapsed_ms():
        return round((time.monotonic() - start) * 1000)

    def pump(timeout):
        """Reads what is there (waiting up to `timeout`); False once the terminal is closed."""
        nonlocal total, recent
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        total += len(chunk)
        if len(head) < KEEP:
            head.extend(chunk[: KEEP - len(head)])
        recent.extend(chunk)
        if len(recent) > KEEP:
            del recent[: len(recent) - KEEP]
        return True

    def reap(block):
        nonlocal status
        if status is None:
            done, st = os.waitpid(pid, 0 if block else os.WNOHANG)
            if done == pid:
                status = st
        return status is not None

    failed = None
    open_ = True
    for step in spec["steps"]:
        deadline = time.monotonic() + step.get("deadlineSec", 30)
        if "waitFor" in step:
            pattern = re.compile(step["waitFor"].encode())
            while not pattern.search(bytes(recent)):
                # Past the deadline, or the terminal closed: the command exited without it.
                if time.monotonic() > deadline or not open_:
                    failed = step
                    break
                open_ = pump(min(0.2, deadline - time.monotonic()))
            if failed:
                break
        elif "resize" in step:
            r, c = step["resize"]
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
            # The terminal driver tells the foreground process group (SIGWINCH) itself.
        elif "signal" in step:
            os.kill(pid, getattr(signal, step["signal"]))
        elif "write" in step:
            os.write(fd, step["write"].encode())
        elif "waitExit" in step:
            while not reap(False):
                if time.monotonic() > deadline:
                    failed = step
                    break
                if open_:
                    open_ = pump(min(0.2, deadline - time.monotonic()))
                else:
                    select.select([], [], [], min(0.05, max(0.0, deadline - time.monotonic())))
            if failed:
                break
        events.append({"step": step, "atMs": elapsed_ms()})

    if failed is not None and status is None:
        os.kill(pid, signal.SIGKILL)
    # Drain what is left, then collect the exit status.
    while open_ and pump(0.05):
        pass
    reap(True)
    os.close(fd)

    result = {
        "exitCode": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "bytes": total,
        "elapsedMs": elapsed_ms(),
        "head": head.decode("utf-8", "replace"),
        "tail": bytes(recent[-8192:]).decode("utf-8", "replace"),
        "events": events,
        "failedStep": failed,
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
