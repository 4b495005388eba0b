"""Where the front door's time goes: variants of its `location /` against the reference.

    .venv/bin/python bench/http.py --sizes 10 --skip daphne,history,burst,writes --duration 1 \
        --warmup 0 --repeat 1 --accept-encoding gzip --keep          # prints "kept /tmp/bench-http-…"
    python3 bench/nginx_variants.py /tmp/bench-http-… [rounds]

On the kept VAR_DIR's published files and rendered nginx.conf (its http-level settings):
one nginx worker on core 0 with one server block per variant, wrk -t1 -c50 on core 1,
3 s per run after 1 s of warm-up, summary.json with `Accept-Encoding: gzip`, every variant
in turn for each round. Prints best and median req/s and their ratio to the reference.
"""

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

var = sys.argv[1]
conf = Path(f"{var}/nginx/nginx.conf").read_text()
ref_dir = f"{var}/reference"
pub = f"{var}/public"


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


headers = """            charset utf-8;
            charset_types text/html application/atom+xml application/rss+xml;
            add_header Cache-Control "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400" always;
            add_header Access-Control-Allow-Origin "*" always;
            add_header X-Content-Type-Options nosniff always;
            add_header Referrer-Policy same-origin always;
            add_header X-Frame-Options DENY always;
            add_header Cross-Origin-Opener-Policy same-origin always;"""
ofc = """        open_file_cache max=10000 inactive=60s;
        open_file_cache_valid 1s;
        open_file_cache_errors on;"""
V = {}


def block(name, body, extra=""):
    p = port()
    V[name] = p
    return f"""
    server {{
        listen 127.0.0.1:{p} reuseport backlog=4096;
{extra}
{body}
    }}
"""


ref_loc = f"""        root {ref_dir};
        gzip off;
        location = /summary.json {{ gzip_static on; }}"""
ref_loc_h = f"""        root {ref_dir};
        gzip off;
        location = /summary.json {{ gzip_static on;
{headers}
        }}"""
front = f"""        location / {{
            root {pub};
            try_files $published_path =404;
            gzip_static on;
            brotli_static on;
{headers}
        }}"""
front_noh = f"""        location / {{
            root {pub};
            try_files $published_path =404;
            gzip_static on;
            brotli_static on;
        }}"""
front_literal = f"""        location = /api/v2/summary.json {{
            root {pub};
            try_files /api/v2/summary.json =404;
            gzip_static on;
            brotli_static on;
{headers}
        }}"""
front_nomap = f"""        location = /api/v2/summary.json {{
            root {pub};
            gzip_static on;
            brotli_static on;
{headers}
        }}"""
blocks = (
    block("reference", ref_loc)
    + block("reference + front door's headers", ref_loc_h)
    + block("front door (production location)", front)
    + block("front door without its headers", front_noh)
    + block("front door without map/try_files (exact location)", front_nomap)
    + block("front door's try_files on a literal path (no map)", front_literal)
    + block("front door + open_file_cache", front, ofc)
    + block("reference + open_file_cache", ref_loc, ofc)
)
# drop the bench's reference block and production server; keep the http-level part
text = conf[: conf.index("    server {")] + blocks + "}\n"
out = f"{var}/nginx/variants.conf"
Path(out).write_text(text)
subprocess.run(["nginx", "-t", "-q", "-p", f"{var}/nginx", "-c", out], check=True)
ng = subprocess.Popen(["taskset", "-c", "0", "nginx", "-p", f"{var}/nginx", "-c", out], start_new_session=True)
time.sleep(1)
res = {k: [] for k in V}
try:
    for rnd in range(int(sys.argv[2]) if len(sys.argv) > 2 else 2):
        for name, p in V.items():
            path = "/summary.json" if name.startswith("reference") else "/api/v2/summary.json"
            url = f"http://127.0.0.1:{p}{path}"
            subprocess.run(
                ["taskset", "-c", "1", "wrk", "-t1", "-c50", "-d1s", "-H", "Accept-Encoding: gzip", url],
                capture_output=True,
            )
            o = subprocess.run(
                ["taskset", "-c", "1", "wrk", "-t1", "-c50", "-d3s", "-H", "Accept-Encoding: gzip", url],
                capture_output=True,
                text=True,
            ).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))
            res[name].append(rps)
            print(f"{rnd} {name}: {rps:,.0f}", flush=True)
finally:
    os.killpg(ng.pid, signal.SIGTERM)
    ng.wait(10)
ref = max(res["reference"])
mref = statistics.median(res["reference"])
for name, v in res.items():
    print(
        f"| {name} | {max(v):,.0f} | {max(v) / ref:.2f} | median {statistics.median(v):,.0f} ({statistics.median(v) / mref:.2f}) |"
    )
