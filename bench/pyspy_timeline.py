"""When a server did what: a py-spy speedscope file (with idle samples) as a timeline per thread.

    .venv/bin/python bench/broadcast.py --servers web --sizes 10000 --updates 5 \\
        --profile --profile-format speedscope
    .venv/bin/python bench/pyspy_timeline.py bench/results/profile-web-10000.json [--thread MainThread]

Each sample is put in a category (the hub's offer loop, the per-socket sends, keepalive
pings, the write in Django's thread, ...) and runs of one category are printed as
`start ms: category × duration ms`. It shows, for one update, how long the offer loop
and the sends take on the event loop, and how long the writer waits meanwhile. The
threads that start late (Django's request threads) begin at their own 0 ms.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# First match wins; matched against "name@file" of every frame of the sample.
CATEGORIES = [
    ("offer", ("Hub._to_",)),
    ("send", ("_write_loop", "asgi_send", "Frame.", "_drain", "WebSocketCommonProtocol.send", "Event.wait@")),
    ("ping", ("keepalive_ping", "ping@")),
    ("settle-poll", ("streams_settled",)),
    ("write: refresh (snapshot, files)", ("refresh@site.py",)),
    ("write: waits for the fan-out", ("publish@hub.py",)),
    ("write: transaction", ("ComponentDetail.patch",)),
    ("hub: load/render", ("changes.py",)),
]


def category(sample: list[int], frames: list[dict]) -> str:
    text = " ".join(f"{frames[i]['name']}@{Path(frames[i].get('file', '')).name}" for i in sample)
    for name, keys in CATEGORIES:
        if any(key in text for key in keys):
            return name
    if not sample or len(sample) <= 7 or frames[sample[-1]]["name"] == "Runner.run":
        return "idle / loop in C"  # uvloop's run_forever: waiting, or C-level I/O
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--thread", default="", help="only threads whose name contains this")
    parser.add_argument("--min-ms", type=float, default=10.0, help="leave out runs shorter than this")
    args = parser.parse_args()
    data = json.loads(args.path.read_text())
    frames = data["shared"]["frames"]
    for profile in data["profiles"]:
        if args.thread not in profile["name"]:
            continue
        step_ms = (profile["weights"][0] if profile["weights"] else 0.005) * 1000
        runs: list[list] = []
        for index, sample in enumerate(profile["samples"]):
            name = category(sample, frames)
            if runs and runs[-1][0] == name:
                runs[-1][2] = index
            else:
                runs.append([name, index, index])
        print(f"== {profile['name']}: {len(profile['samples'])} samples of {step_ms:g} ms")
        for name, first, last in runs:
            duration = (last - first + 1) * step_ms
            if duration >= args.min_ms and not name.startswith("idle"):
                print(f"  {first * step_ms:8.0f} ms  {name} × {duration:.0f} ms")


if __name__ == "__main__":
    main()
