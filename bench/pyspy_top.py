# ruff: noqa: E402  (imports after the sys.path guard below)
"""Where a server's time went: the frames of a `py-spy record -f raw` file, by share of samples.

    .venv/bin/python bench/pyspy_top.py bench/results/profile-daphne-10000.txt [--top 40] [--self]
    .venv/bin/python bench/pyspy_top.py bench/results/profile-daphne-10000.txt --categories

Inclusive by default (a frame counts for every sample it is on the stack of); --self counts
only the innermost frame. `bench/broadcast.py --profile` writes these files.
"""

from __future__ import annotations

import os
import sys

# bench/ also holds scripts named like standard modules (bench/http.py): with bench/ first
# on sys.path they would shadow the standard library (http.client, used by websockets).
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE] + [_HERE]

import argparse
from collections import Counter
from pathlib import Path

# Where a broadcast's server time goes, first match wins (frames are matched by substring).
CATEGORIES = [
    ("keepalive pings (server pings every socket every 20 s)", ("_sendAutoPing", "keepalive_ping", "send_ping")),
    ("daphne application_checker (all connections, every 1 s)", ("Server.application_checker",)),
    ("daphne timeout_checker (all connections)", ("Server.timeout_checker",)),
    ("hub: offer to each socket, wake its writer task", ("Hub._to_",)),
    (
        "per-socket send: writer task, Channels send, framing, write",
        # (also py-spy's cut-off stacks that start inside the send path)
        ("Connection._write_loop", "handle_reply", "sendMessage", "write_frame", "Frame.write", "asgi_send"),
    ),
    ("server write completion (Twisted doWrite / stopWriting)", ("FileDescriptor.doWrite",)),
    ("hub load: events, page and documents rendered (thread)", ("changes.py", "Hub.check")),
    ("the write: PATCH through Django (thread)", ("ComponentDetail.patch", "django/core/handlers")),
    ("new connections / closes", ("connectionMade", "connection_made", "websocket_connect", "handshake")),
    ("rest of the event loop: polling, callbacks, C-level I/O", ("select", "_run_once", "run_forever", "Runner.run")),
]


def categorize(path: Path) -> None:
    total = 0
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        name = next((name for name, keys in CATEGORIES if any(k in stack for k in keys)), "other")
        counts[name] += int(n)
    print(f"{total} samples in {path}")
    for name, samples in counts.most_common():
        print(f"{samples * 100 / total:6.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--self", dest="self_only", action="store_true", help="innermost frames only")
    parser.add_argument("--grep", default="", help="only frames containing this text")
    parser.add_argument("--categories", action="store_true", help="group samples by what the server was doing")
    args = parser.parse_args()
    if args.categories:
        categorize(args.path)
        return
    total = 0
    counts: Counter[str] = Counter()
    for line in args.path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        samples = int(n)
        total += samples
        frames = stack.split(";")
        for frame in [frames[-1]] if args.self_only else set(frames):
            counts[frame] += samples
    print(f"{total} samples in {args.path}")
    shown = 0
    for frame, samples in counts.most_common():
        if args.grep and args.grep not in frame:
            continue
        print(f"{samples * 100 / total:6.1f}%  {frame}")
        shown += 1
        if shown >= args.top:
            break


if __name__ == "__main__":
    main()
