"""HTTP benchmark: the public read path against nginx serving the same bytes as files.

    .venv/bin/python bench/http.py          # SQLite in a temp dir; about 8 to 10 minutes
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/http.py
    .venv/bin/python bench/http.py --sizes 10 --skip daphne,history,burst,writes --duration 3 --repeat 1
                                            # the hot reads only: about 4 minutes

One command from a fresh clone after `make install`; needs nginx and wrk (Debian packages),
and redis-server: the run starts a private one on a free loopback port (BENCH_REDIS_URL to
use another; it is not flushed; without redis-server the app runs with its in-process
cache and live push). Exit status 1 when a front-door read is below 0.95 of the
reference. Loopback only: the app servers and nginx pinned to core 0, wrk (and this
script, and py-spy) to core 1. Every child process is killed at the end, on error
and on SIGTERM too. Prints Markdown tables and writes them to bench/results/http.md (raw
figures in http.json).

What runs, in order:

1. Setup in a temp VAR_DIR through the project's own commands: migrate, collectstatic,
   `load_demo`, a superuser (`ensure_admin`) and a write token (`create_api_token
   --write`). With DATABASE_URL (PostgreSQL) a scratch database is made on that server and
   dropped at the end. The Celery broker is the file-system one in the temp dir (no worker
   or beat runs; nothing is left in a shared RabbitMQ); BENCH_BROKER_URL to change it.
2. The production front door: `manage.py publish` (as deploy/run runs it before nginx
   starts), then deploy/nginx.conf.template filled in as deploy/run fills it (PUBLISH_DIR =
   $VAR_DIR/public included), with ONE nginx worker and ONE upstream: `deploy/web`
   (uvicorn). The same nginx has one more server block, the reference: the published files
   (identity and .gz) copied as static files, served with gzip_static and the front door's
   own headers (its add_header lines and types), and one more with nothing added, for the
   record. The front door, the app and the references are checked to send the same bodies,
   the front door and the reference the same headers (but Date, ETag, Last-Modified), and
   the front door to answer with the app stopped (SIGSTOP): from the files alone.
3. wrk -t1 -c50, 1 s warm-up then 5 s with --latency, for summary.json, the page, an
   incident page (`/incidents/<public_id>`) and a 304 (If-None-Match): the reference, the
   front door, the app alone (--repeat rounds in turn, the median ratio of the rounds), daphne alone;
   clients sending `Accept-Encoding: gzip` (browsers, HTTP libraries), then `identity`
   (curl). Each row's "ratio to reference" is its req/s over the reference's; target for
   the front door: at least 0.95.
4. History of 10, 1,000 and 100,000 incidents, bulk-inserted by bench/_http_setup.py (NOT
   through the services), then the snapshot rebuilt: first and deep history pages (HTML and
   JSON) and summary.json at each size, app alone.
5. Renders per update: 10 component updates through PATCH /api/v1/components/<id>, each
   followed at once by 200 concurrent GET / at the app; renders counted from the app's log
   ("documents rendered for seq …", logged by incidents/publish/documents.py).
6. Operator writes under read load: wrk hammers the front door with / and summary.json
   while 50 PATCHes go through the front door's API one after another.

A wrk run during which other processes used more than 10 % of a core is redone (up to
twice, within --retry-budget); figures still disturbed are marked †. --profile adds py-spy
recordings of the app (bench/results/http-profile-*.txt, read with bench/pyspy_top.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, this file's folder comes first on sys.path and its name
# would hide the standard library's `http`: take the folder off before anything imports it.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse  # noqa: E402
import asyncio
import contextlib
import http.client
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
RESULTS = ROOT / "bench" / "results"
SERVER_CORE = 0
CLIENT_CORE = 1
RENDER_LINE = re.compile(rb"documents rendered for seq (\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOISE_PCT = 10  # other processes' CPU during a run, % of one core, above which it is flagged
NOISY = " †"
FRONT_TARGET = 0.95  # front door req/s over nginx serving the same bytes as plain static files
LANGUAGE_TARGET = 0.95  # `/zh-hans/` req/s over `/`, both through the front door (issue #13)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- child processes ---------------------------------------------------------------------


class Children:
    """Every process this run starts, each in its own process group, all killed at the end."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], *, env: dict, log_path: Path | None = None, core: int | None = None):
        if core is not None:
            argv = ["taskset", "-c", str(core), *argv]
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed just below)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if log_path:
            out.close()
        self.procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        # The group may outlive its leader (nginx workers, uvicorn's children): kill it all.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        self.procs = [(n, p) for n, p in self.procs if p is not proc]

    def stop_all(self) -> None:
        for _name, proc in reversed(list(self.procs)):
            self.stop(proc, timeout=5.0)


CHILDREN = Children()


def run(argv: list[str], *, env: dict, timeout: float = 300, core: int | None = None) -> str:
    """A short command, to completion; its stdout (raises with its output on failure)."""
    if core is not None:
        argv = ["taskset", "-c", str(core), *argv]
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    CHILDREN.procs.append((argv[0], proc))
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        CHILDREN.stop(proc, timeout=1)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{out.decode()}\n{err.decode()}")
    return out.decode()


@contextlib.contextmanager
def profiling(enabled: bool, pid: int, name: str):
    """py-spy (on the load's core) records `pid` while the block runs, into
    bench/results/http-profile-<name>.txt (read it with bench/pyspy_top.py)."""
    spy = shutil.which("py-spy", path=f"{PYTHON.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not enabled:
        yield
        return
    if not spy:
        log("--profile needs py-spy (.venv/bin/pip install py-spy): not profiling")
        yield
        return
    out = RESULTS / f"http-profile-{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [spy, "record", "-p", str(pid), "-d", "600", "-r", "200", "--nonblocking", "-f", "raw", "-o", str(out)]
    spy_proc = CHILDREN.start(
        "py-spy", argv, env=dict(os.environ), log_path=RESULTS / "http-profile.log", core=CLIENT_CORE
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(spy_proc.pid, signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy_proc.wait(30)
        CHILDREN.stop(spy_proc, timeout=1)
        log(f"profile: {out} (.venv/bin/python bench/pyspy_top.py {out.relative_to(ROOT)})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- what else is using the CPU ----------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, start time, utime + stime ticks), for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        rest = raw[raw.rindex(b")") + 2 :].split()
        table[int(entry)] = (int(rest[1]), int(rest[19]), int(rest[11]) + int(rest[12]))
    return table


def foreign_ticks() -> dict[tuple[int, int], int]:
    """CPU ticks used so far by each process that is not this run's, by (pid, start time)."""
    table = _proc_table()
    ours = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in table.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                grew = True
    return {(pid, start): ticks for pid, (_, start, ticks) in table.items() if pid not in ours}


def foreign_pct(before: dict, seconds: float) -> float:
    """Other processes' CPU since `before`, in % of one core (those that ended are missed)."""
    after = foreign_ticks()
    used = sum(ticks - before.get(key, 0) for key, ticks in after.items())
    return used / CLK_TCK / seconds * 100


# --- HTTP helpers ------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(
    port: int,
    path: str,
    headers: dict | None = None,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 30,
) -> Reply:
    """One request, bytes as sent (no decompression)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def wait_ready(port: int, path: str, proc: subprocess.Popen, log_path: Path | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
            raise RuntimeError(f"server on port {port} exited ({proc.returncode}):\n{tail}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if fetch(port, path).status < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


# --- wrk ---------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx/3xx responses plus socket errors
    foreign_pct: float  # other processes' CPU during the run, % of one core
    raw: str = field(repr=False, default="")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str, foreign_pct: float = 0.0) -> Load:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return _ms(*m.groups()) if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return Load(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(total.group(1)) if total else 0,
        bad=bad,
        foreign_pct=foreign_pct,
        raw=out,
    )


class Wrk:
    def __init__(self, args) -> None:
        self.duration = args.duration
        self.warmup = args.warmup
        self.connections = args.connections
        self.retries = args.retries
        self.retry_seconds = args.retry_budget  # what redoing disturbed runs may add in all
        self.env = dict(os.environ)

    def argv(self, url: str, duration: float, headers: list[str], script: str | None, connections: int) -> list[str]:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
        for header in headers:
            argv += ["-H", header]
        if script:
            argv += ["-s", script]
        return [*argv, url]

    def measure(
        self, url: str, headers: list[str] = (), script: str | None = None, repeat: int = 1, connections: int = 0
    ) -> Load:
        """wrk after a warm-up; with `repeat`, the best of that many runs (by req/s). A run
        during which other processes used the machine is done again (up to --retries
        times, while --retry-budget lasts); the best quiet run is kept."""
        headers = list(headers)
        connections = connections or self.connections
        if self.warmup:
            run(self.argv(url, self.warmup, headers, script, connections), env=self.env, core=CLIENT_CORE)
            # Django's sync views run one at a time in a thread: requests the warm-up left
            # queued there would eat into the measured run. One more request waits them out.
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            fetch(parts.port, target, dict(h.split(": ", 1) for h in headers))
        runs: list[Load] = []
        retries = self.retries
        while True:
            before, began = foreign_ticks(), time.monotonic()
            out = run(
                self.argv(url, self.duration, headers, script, connections),
                env=self.env,
                core=CLIENT_CORE,
                timeout=self.duration + 30,
            )
            load = parse_wrk(out, foreign_pct(before, time.monotonic() - began))
            noisy = load.foreign_pct > NOISE_PCT
            log(
                f"  {url} {' '.join(headers)}: {load.rps:,.0f} req/s, p99 {load.p99_ms:.2f} ms, bad {load.bad}"
                + (f" (others used {load.foreign_pct:.0f}% of a core)" if noisy else "")
            )
            runs.append(load)
            quiet = [r for r in runs if r.foreign_pct <= NOISE_PCT]
            if len(quiet) >= repeat:
                break
            if noisy and retries > 0 and self.retry_seconds >= self.duration + 1:
                retries -= 1
                self.retry_seconds -= self.duration + 1
                time.sleep(1)
                continue
            if len(runs) >= repeat:
                break
        return max(quiet or runs, key=lambda r: r.rps)

    def start_background(self, url: str, headers: list[str], script: str | None, log_path: Path):
        argv = self.argv(url, 600, list(headers), script, self.connections)
        return CHILDREN.start("wrk", argv, env=self.env, log_path=log_path, core=CLIENT_CORE)


# --- the stack ---------------------------------------------------------------------------


def language_rules(env: dict) -> dict[str, str]:
    """The template's language parts, as deploy/run fills them (manage.py nginx_languages)."""
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "nginx_languages"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def security_headers(env: dict) -> dict[str, str]:
    """The Content-Security-Policy (and HSTS, with TLS on) that deploy/run has nginx add,
    read from the settings as deploy/run reads them."""
    code = (
        "from incidents.asgi.hotpath import security_headers\n"
        "for name, value in security_headers():\n"
        "    print(name.decode() + '=' + value.decode())\n"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-v0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def render_nginx_conf(
    var_dir: Path,
    static_root: Path,
    publish_dir: Path,
    listen: int,
    app_port: int,
    ref_port: int,
    ref_dir: Path,
    headers: dict[str, str],
    bare_port: int,
):
    """deploy/nginx.conf.template filled in as deploy/run fills it (PUBLISH_DIR included: the
    public reads are the files published there), with one worker and one upstream, plus the
    reference server block (static copies of the published bytes)."""
    nginx_dir = var_dir / "nginx"
    for sub in ("tmp", "cache"):
        (nginx_dir / sub).mkdir(parents=True, exist_ok=True)
    text = (ROOT / "deploy" / "nginx.conf.template").read_text()
    for key, value in {
        "@NGINX_DIR@": str(nginx_dir),
        "@STATIC_ROOT@": str(static_root),
        "@PUBLISH_DIR@": str(publish_dir),
        "@LISTEN@": f"127.0.0.1:{listen}",
        "@USER_LINE@": f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else "",
        "@UPSTREAMS@": f"        server 127.0.0.1:{app_port} max_fails=0;",
        "@CSP@": headers["content-security-policy"],
        "@HSTS_LINE@": (
            f'add_header Strict-Transport-Security "{headers["strict-transport-security"]}" always;'
            if "strict-transport-security" in headers
            else ""
        ),
        **language_rules(os.environ | {"SECRET_KEY": "bench-only", "DEBUG": "1"}),
    }.items():
        text = text.replace(key, value)
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    left = sorted(set(re.findall(r"@[A-Z_]+@", code)))
    if left:
        raise RuntimeError(f"deploy/nginx.conf.template has placeholders bench/http.py does not fill: {left}")
    if "worker_processes auto;" not in text:
        raise RuntimeError("deploy/nginx.conf.template no longer says `worker_processes auto;`")
    text = text.replace("worker_processes auto;", "worker_processes 1;  # bench/http.py: one worker, on core 0")
    # The response headers the front door adds to the files it serves (its `types` with
    # charset, and every add_header of `location / {`): the reference sends them too, so
    # that both send the same bytes, headers included (checked before the runs).
    block = text[text.index("        location / {") :]
    block = block[: block.index("\n            location ")]
    types = re.search(r"\n( +types \{.*?\})", block, re.S).group(1)
    added = "\n".join(line for line in block.splitlines() if line.lstrip().startswith("add_header "))

    def static_server(port: int, comment: str, added_headers: str = "") -> str:
        return f"""
    # {comment}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {ref_dir};
        gzip off;
        gzip_static on;{added_headers}
        location = /summary.json {{ }}
        location = /index.html {{ }}
        location = /incident.html {{ }}
    }}"""

    reference = (
        static_server(
            ref_port,
            "bench/http.py's reference: the app's very bytes, as static files, with the front door's headers.",
            f"\n{types}\n{added}",
        )
        + static_server(bare_port, "And for the record, the same files with nothing added: nginx's floor.")
        + "\n}\n"
    )
    text = text[: text.rindex("}")] + reference.lstrip("\n")
    conf = nginx_dir / "nginx.conf"
    conf.write_text(text)
    for path in (var_dir, nginx_dir):
        path.chmod(0o755)
    return nginx_dir, conf


@dataclass
class Stack:
    var_dir: Path
    env: dict
    db_note: str
    redis_note: str
    broker_note: str
    cleanup: list


def make_env(var_dir: Path, database_url: str, redis_url: str, broker_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="statuspage.settings",
        # A throw-away deployment on loopback: plain HTTP, a key long enough for DEBUG off.
        SECRET_KEY="bench-http-only-0123456789-abcdefghijklmnopqrstuvwxyz",  # noqa: S106
        DEBUG="0",
        TLS="off",
        VAR_DIR=str(var_dir),
        STATIC_ROOT=str(var_dir / "static"),
        # As deploy/run sets it: this node's published documents, which nginx serves.
        PUBLISH_DIR=str(var_dir / "public"),
        STATIC_MANIFEST="1",
        WHITENOISE_USE_FINDERS="0",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="INFO",
        # 60 writes a minute per token is the production limit; this run makes 60 on purpose.
        API_WRITE_RATE="100000/min",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def scratch_postgres(url: str) -> tuple[str, callable]:
    import psycopg

    parts = urlsplit(url)
    name = f"bench_http_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def private_redis(var_dir: Path) -> str:
    """A redis-server of this run's own on a free loopback port (no shared Redis is flushed
    or written); killed with every other child at the end. Its URL, or "" without Redis."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        log("no redis-server (apt-get install redis-server): in-process cache and live push")
        return ""
    port = free_port()
    work = var_dir / "redis"
    work.mkdir()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = CHILDREN.start("redis-server", [*argv, "--dir", str(work)], env=dict(os.environ), log_path=work / "log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited: {(work / 'log').read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port} within 30 s")


def pick_incident(publish_dir: Path) -> str:
    """The public id of an incident whose page is published (the demo's, newest first)."""
    pages = sorted((publish_dir / "incidents").glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not pages:
        raise RuntimeError(f"no incident page published in {publish_dir / 'incidents'}")
    return pages[0].stem


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    return run([str(PYTHON), "manage.py", *args], env=env, timeout=timeout)


def set_history(env: dict, total: int) -> str:
    out = run([str(PYTHON), "bench/_http_setup.py", "history", str(total)], env=env, timeout=600).strip()
    log(out)
    return out


# --- the measurements --------------------------------------------------------------------


@dataclass
class Row:
    what: str
    through: str
    load: Load
    ratio: float = 0.0
    encoding: str = ""
    target: str = ""
    met: bool | None = None


def median_run(runs: list[Load]) -> Load:
    """The run with the median req/s (the lower middle one of an even number)."""
    return sorted(runs, key=lambda r: r.rps)[(len(runs) - 1) // 2]


def fmt_rps(load: Load) -> str:
    return f"{load.rps:,.0f}"


def fmt_ms(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:,.0f} ms"


def verdict(met: bool | None) -> str:
    return "" if met is None else ("**met**" if met else "**missed**")


async def _burst_phase(port: int, token: str, component: str, updates: int, clients: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    result = {"patch_ms": [], "bursts": []}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers={"Accept-Encoding": "gzip"}) as c:
        previous = (await c.get("/")).headers.get("etag")
        for i in range(updates):
            status = "degraded_performance" if i % 2 == 0 else "operational"
            began = time.perf_counter()
            r = await c.patch(f"/api/v1/components/{component}", json={"status": status}, headers=auth)
            result["patch_ms"].append((time.perf_counter() - began) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"PATCH answered {r.status_code}: {r.text[:500]}")
            began = time.perf_counter()
            replies = await asyncio.gather(*(c.get("/") for _ in range(clients)))
            elapsed = time.perf_counter() - began
            etags = [x.headers.get("etag") for x in replies]
            result["bursts"].append(
                {
                    "ok": sum(x.status_code == 200 for x in replies),
                    "new": sum(e != previous for e in etags),
                    "versions": len(set(etags)),
                    "seconds": elapsed,
                }
            )
            previous = etags[-1]
    return result


def burst_phase(port: int, token: str, component: str, updates: int, clients: int, app_log: Path) -> dict:
    mark = app_log.stat().st_size
    result = asyncio.run(_burst_phase(port, token, component, updates, clients))
    time.sleep(3.0)  # past the hub's poll interval: late renders are counted too
    with app_log.open("rb") as f:
        f.seek(mark)
        seqs = [int(s) for s in RENDER_LINE.findall(f.read())]
    result["renders"] = len(seqs)
    result["seqs"] = seqs
    return result


def writes_under_load(
    front: int, token: str, component: str, writes: int, wrk: Wrk, headers: list[str], script: Path, var_dir: Path
):
    import httpx

    wrk_log = var_dir / "wrk-writes.log"
    reader = wrk.start_background(f"http://127.0.0.1:{front}/", headers, str(script), wrk_log)
    latencies = []
    try:
        time.sleep(2.0)  # readers at full speed first
        before, began = foreign_ticks(), time.monotonic()
        with httpx.Client(base_url=f"http://127.0.0.1:{front}", timeout=30) as client:
            for i in range(writes):
                status = "degraded_performance" if i % 2 == 0 else "operational"
                t0 = time.perf_counter()
                r = client.patch(
                    f"/api/v1/components/{component}",
                    json={"status": status},
                    headers={"Authorization": f"Bearer {token}"},
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"PATCH through the front door answered {r.status_code}: {r.text[:500]}")
        foreign = foreign_pct(before, time.monotonic() - began)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(reader.pid, signal.SIGINT)  # wrk prints its figures on SIGINT
        with contextlib.suppress(subprocess.TimeoutExpired):
            reader.wait(10)
        CHILDREN.stop(reader, timeout=1)
    reads = parse_wrk(wrk_log.read_text(errors="replace"), foreign)
    return latencies, reads


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- the report --------------------------------------------------------------------------


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    return f"{os.cpu_count()} cores ({model or platform.machine()}){mem}, Linux {platform.release()}"


def versions(env: dict) -> str:
    def first_line(argv):
        with contextlib.suppress(Exception):
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10, env=env)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        return "?"

    py = first_line(
        [
            str(PYTHON),
            "-c",
            "import sys, django, uvicorn, daphne; "
            "print(f'Python {sys.version.split()[0]}, Django {django.__version__}, "
            "uvicorn {uvicorn.__version__}, daphne {daphne.__version__}')",
        ]
    )
    nginx = first_line(["nginx", "-v"]).replace("nginx version: ", "")
    wrk = first_line(["wrk", "-v"]).split(" [")[0]
    return f"{py}; {nginx}; {wrk}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds measured per wrk run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each (default 1)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument(
        "--django-connections", type=int, default=10, help="wrk connections for the history pages (default 10)"
    )
    parser.add_argument("--sizes", default="10,1000,100000", help="history sizes (default 10,1000,100000)")
    parser.add_argument("--updates", type=int, default=10, help="updates in the burst test (default 10)")
    parser.add_argument("--clients", type=int, default=200, help="GETs fired after each update (default 200)")
    parser.add_argument("--writes", type=int, default=50, help="writes under read load (default 50)")
    parser.add_argument(
        "--accept-encoding",
        default="gzip,identity",
        help="what wrk's clients send as Accept-Encoding, each measured in turn: gzip (browsers, HTTP "
        "libraries) and identity (curl, wrk's default); the reference serves the app's matching bytes. "
        "The first one is used for the history, burst and write tests (default gzip,identity)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of the hot-read rows (reference, front door, app, bare static in turn); each row's ratio "
        "is the median of its rounds' ratios (default 3)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"times a wrk run disturbed by other processes (over {NOISE_PCT}%% of a core) is redone (default 2)",
    )
    parser.add_argument(
        "--retry-budget", type=float, default=60, help="seconds that redoing disturbed runs may add in all (default 60)"
    )
    parser.add_argument(
        "--nice", type=int, default=-20, help="niceness of this run and its processes, if allowed (default -20)"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=30, help="seconds to wait for other processes to calm down (default 30)"
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated tests to leave out: daphne, languages, history, burst, writes"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also py-spy the app (extra runs, not in the table): summary.json, /history at the largest "
        "size, and the writes under load, into bench/results/http-profile-*.txt",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "http.md")
    parser.add_argument("--keep", action="store_true", help="keep the temp VAR_DIR (logs, nginx.conf)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"bench/http.py needs {tool} (apt-get install nginx wrk util-linux)")
    if not PYTHON.exists():
        sys.exit("run `make install` first (.venv/bin/python is missing)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench/http.py pins the servers to core 0 and the load to core 1: it needs 2 cores")
    os.environ["PATH"] = f"{os.environ.get('PATH', '')}:/usr/sbin"
    os.sched_setaffinity(0, {CLIENT_CORE})  # this script and what it runs stay off the servers' core
    # On a shared machine, other work at normal priority should disturb the figures less:
    # everything this run starts inherits the niceness (root only; otherwise it stays 0).
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)

    def terminate(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(TimeoutError("bench/http.py ran over 20 minutes")))
    signal.alarm(20 * 60)

    var_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    cleanup: list = []
    started = time.monotonic()
    try:
        return bench(args, sizes, var_dir, cleanup)
    finally:
        signal.alarm(0)
        CHILDREN.stop_all()
        for step in reversed(cleanup):
            try:
                step()
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup step failed: {exc}")
        if args.keep:
            log(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
        log(f"done in {time.monotonic() - started:.0f} s")


def bench(args, sizes: list[int], var_dir: Path, cleanup: list) -> int:
    # 1. Setup --------------------------------------------------------------------------
    given = os.environ.get("DATABASE_URL", "")
    if given and not given.startswith("sqlite"):
        database_url, drop = scratch_postgres(given)
        cleanup.append(drop)
        db_note = f"PostgreSQL, scratch database `{urlsplit(database_url).path.lstrip('/')}` (dropped after)"
    else:
        database_url = f"sqlite:///{var_dir / 'db.sqlite3'}"
        db_note = "SQLite (WAL) in a temp VAR_DIR"
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if redis_url:
        redis_note = f"Redis `{redis_url}` (BENCH_REDIS_URL, not flushed): cache and live push"
    else:
        redis_url = private_redis(var_dir)
        redis_note = (
            "a private redis-server on a free port (cache and live push)"
            if redis_url
            else "no Redis: in-process cache and live push"
        )
    broker_url = os.environ.get("BENCH_BROKER_URL", "filesystem://")
    broker_note = (
        "Celery broker: the file-system one in the temp VAR_DIR (no worker or beat runs: they are off the "
        "read path, and nothing is left in a shared RabbitMQ)"
        if broker_url == "filesystem://"
        else f"Celery broker `{broker_url}` (no worker or beat runs)"
    )
    env = make_env(var_dir, database_url, redis_url, broker_url)
    log(f"setup in {var_dir}: {db_note}; {redis_note}")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "load_demo")
    manage(env, "ensure_admin", "--username", "bench")
    token = manage(env, "create_api_token", "bench", "--write", "--name", "bench/http.py").strip().splitlines()[-1]
    history_notes = [set_history(env, sizes[0])]
    # As deploy/run does before nginx starts: every public read published as files.
    publish_dir = Path(env["PUBLISH_DIR"])
    publish_dir.mkdir(parents=True, exist_ok=True)
    publish_dir.chmod(0o755)
    log(manage(env, "publish").strip())

    # 2. The stack: uvicorn (deploy/web) behind nginx (deploy's template), on core 0 -----
    front, app_port, ref_port, daphne_port, bare_port = free_port(), free_port(), free_port(), free_port(), free_port()
    ref_dir = var_dir / "reference"
    ref_dir.mkdir()
    ref_dir.chmod(0o755)
    nginx_dir, conf = render_nginx_conf(
        var_dir, var_dir / "static", publish_dir, front, app_port, ref_port, ref_dir, security_headers(env), bare_port
    )
    run(["nginx", "-t", "-q", "-p", str(nginx_dir), "-c", str(conf)], env=env)
    app_log = var_dir / "uvicorn.log"
    app = CHILDREN.start(
        "uvicorn",
        ["deploy/web"],
        env={**env, "PORT": str(app_port), "ASGI_SERVER": "uvicorn"},
        log_path=app_log,
        core=SERVER_CORE,
    )
    nginx_log = var_dir / "nginx.log"
    nginx = CHILDREN.start(
        "nginx", ["nginx", "-p", str(nginx_dir), "-c", str(conf)], env=env, log_path=nginx_log, core=SERVER_CORE
    )
    wait_ready(app_port, "/", app, app_log)
    wait_ready(front, "/", nginx, nginx_log)

    # The reference: the published files themselves (identity and .gz), served as plain static files.
    encodings = [e.strip() for e in args.accept_encoding.split(",") if e.strip()]
    if not encodings or set(encodings) - {"gzip", "identity"}:
        raise SystemExit("--accept-encoding takes gzip, identity or both")
    wrk = Wrk(args)
    incident_id = pick_incident(publish_dir)
    incident_path = f"/incidents/{incident_id}"
    published = (
        ("/api/v2/summary.json", "summary.json", "api/v2/summary.json"),
        ("/", "index.html", "index.html"),
        (incident_path, "incident.html", f"incidents/{incident_id}.html"),
    )
    sizes_note = {}
    for path, name, relpath in published:
        plain = (publish_dir / relpath).read_bytes()
        gz = publish_dir / f"{relpath}.gz"
        zipped = gz.read_bytes() if gz.exists() else plain
        (ref_dir / name).write_bytes(plain)
        if gz.exists():
            (ref_dir / f"{name}.gz").write_bytes(zipped)
        for f in ref_dir.iterdir():
            f.chmod(0o644)
        sizes_note[name] = (len(plain), len(zipped))
        # The front door, the app and the reference must hand out the very same bytes (the
        # front door and the reference the same headers too, but for their dates and ETags).
        for encoding, expected in (("identity", plain), ("gzip", zipped)):
            sent = {}
            for port, where, ref_path in (
                (front, "front door", path),
                (app_port, "app", path),
                (ref_port, "reference", f"/{name}"),
                (bare_port, "bare static", f"/{name}"),
            ):
                got = fetch(port, ref_path, {"Accept-Encoding": encoding})
                if got.status != 200 or got.body != expected:
                    raise RuntimeError(
                        f"{where} {ref_path} ({encoding}): {got.status}, {len(got.body)} bytes, "
                        f"not the published {relpath} ({len(expected)} bytes)"
                    )
                sent[where] = {k: v for k, v in got.headers.items() if k not in ("date", "etag", "last-modified")}
            if sent["front door"] != sent["reference"]:
                raise RuntimeError(
                    f"{path}: the reference's headers differ: {sent['reference']} != {sent['front door']}"
                )
    # The front door answers these from the files alone: with the app frozen, it still does.
    os.killpg(app.pid, signal.SIGSTOP)
    try:
        for path, _name, relpath in published:
            got = fetch(front, path, {"Accept-Encoding": "identity"}, timeout=3)
            if got.status != 200 or got.body != (publish_dir / relpath).read_bytes():
                raise RuntimeError(f"front door {path} with the app stopped: {got.status}, not the published file")
    finally:
        os.killpg(app.pid, signal.SIGCONT)
    summary = json.loads((ref_dir / "summary.json").read_bytes())
    component = next(c["id"] for c in summary["components"] if not c.get("group"))
    log(
        f"published files (bytes, gzipped): {sizes_note}; the front door serves them with the app stopped; "
        f"incident page {incident_path}; component for the writes: {component}"
    )
    # Other work on this machine skews every figure: wait a little for a quiet moment.
    waited_until = time.monotonic() + args.quiet_wait
    while True:
        before = foreign_ticks()
        time.sleep(2)
        idle_pct = foreign_pct(before, 2)
        if idle_pct <= NOISE_PCT or time.monotonic() >= waited_until:
            break
        log(f"other processes use {idle_pct:.0f}% of a core; waiting for a quiet moment")
    if idle_pct > NOISE_PCT:
        log(f"WARNING: other processes use {idle_pct:.0f}% of a core: the figures will be low")

    # 3. Hot reads: reference, front door, app alone, daphne alone ---------------------
    hot = [
        ("summary.json", "/api/v2/summary.json", "/summary.json"),
        ("page HTML `/`", "/", "/index.html"),
        ("incident page `/incidents/<id>`", incident_path, "/incident.html"),
    ]
    loads: dict[tuple, list[Load]] = {}
    for encoding in encodings:
        headers = [f"Accept-Encoding: {encoding}"]
        for what, path, ref_path in hot:
            log(f"{what}, Accept-Encoding: {encoding}:")
            # Every row here has a target: --repeat rounds of reference, front door, app and
            # bare static in turn. Each round is a paired comparison (a neighbour's burst hits
            # the runs next to each other alike); the row's ratio is the median of the rounds'
            # ratios to their own reference run, and its req/s the median run.
            for _ in range(max(1, args.repeat)):
                for key, port, p in (
                    ("ref", ref_port, ref_path),
                    ("front", front, path),
                    ("app", app_port, path),
                    ("bare", bare_port, ref_path),
                ):
                    load = wrk.measure(f"http://127.0.0.1:{port}{p}", headers)
                    loads.setdefault((encoding, what, key), []).append(load)
        # 304s: each server's own ETag for summary.json.
        log(f"304 (If-None-Match) on summary.json, Accept-Encoding: {encoding}:")
        for key, port, path in (
            ("ref", ref_port, "/summary.json"),
            ("front", front, "/api/v2/summary.json"),
            ("app", app_port, "/api/v2/summary.json"),
        ):
            etag = fetch(port, path, {"Accept-Encoding": encoding}).headers["etag"]
            probe = fetch(port, path, {"Accept-Encoding": encoding, "If-None-Match": etag})
            if probe.status != 304:
                raise RuntimeError(f"{port}{path} with If-None-Match {etag} answered {probe.status}, not 304")
            loads[(encoding, "304", key)] = [
                wrk.measure(f"http://127.0.0.1:{port}{path}", [*headers, f"If-None-Match: {etag}"])
            ]

    # 3b. The page in another language costs what the default's does ------------------
    language_loads: dict[tuple, list[Load]] = {}
    if "languages" not in args.skip:
        for path in ("/", "/zh-hans/"):
            got = fetch(front, path, {"Accept-Encoding": "identity"})
            relpath = "index.html" if path == "/" else "zh-hans/index.html"
            if got.status != 200 or got.body != (publish_dir / relpath).read_bytes():
                raise RuntimeError(f"front door {path}: {got.status}, not the published {relpath}")
        for encoding in encodings:
            headers = [f"Accept-Encoding: {encoding}"]
            log(f"`/zh-hans/` against `/`, Accept-Encoding: {encoding}:")
            for _ in range(max(1, args.repeat)):
                for key, port in (("front", front), ("app", app_port)):
                    for lang, path in (("en", "/"), ("zh-hans", "/zh-hans/")):
                        load = wrk.measure(f"http://127.0.0.1:{port}{path}", headers)
                        language_loads.setdefault((encoding, key, lang), []).append(load)

    if "daphne" not in args.skip:
        log("daphne alone (for the record):")
        daphne_log = var_dir / "daphne.log"
        daphne = CHILDREN.start(
            "daphne",
            ["deploy/web"],
            env={**env, "PORT": str(daphne_port), "ASGI_SERVER": "daphne"},
            log_path=daphne_log,
            core=SERVER_CORE,
        )
        wait_ready(daphne_port, "/", daphne, daphne_log)
        for what, path, _ in hot:
            loads[(encodings[0], what, "daphne")] = [
                wrk.measure(f"http://127.0.0.1:{daphne_port}{path}", [f"Accept-Encoding: {encodings[0]}"])
            ]
        CHILDREN.stop(daphne)

    if args.profile:
        log("profiling the app alone on summary.json (not in the table):")
        with profiling(True, app.pid, "hot"):
            wrk.measure(f"http://127.0.0.1:{app_port}/api/v2/summary.json", [f"Accept-Encoding: {encodings[0]}"])

    through = {
        "ref": "nginx, static file, the same headers (reference)",
        "bare": "nginx, static file, no headers added (for the record)",
        "front": "front door: production nginx config, published file",
        "app": "app alone: uvicorn",
        "daphne": "daphne alone (for the record)",
    }
    rows: list[Row] = []
    for encoding in encodings:
        for what in (*(h[0] for h in hot), "304"):
            refs = loads[(encoding, what, "ref")]
            label = "304 on summary.json" if what == "304" else what
            for key in ("ref", "front", "app", "daphne", "bare"):
                runs = loads.get((encoding, what, key))
                if not runs:
                    continue
                # Paired rounds: each run over its own round's reference run (daphne, run
                # once after the rounds, over the median reference run).
                pairs = (
                    zip(runs, refs, strict=True) if len(runs) == len(refs) else ((r, median_run(refs)) for r in runs)
                )
                ratio = statistics.median(r.rps / ref.rps if ref.rps else 0.0 for r, ref in pairs)
                row = Row(label, through[key], median_run(runs), ratio, encoding=encoding)
                if what != "304" and key == "front":
                    row.target, row.met = f"≥ {FRONT_TARGET}", row.ratio >= FRONT_TARGET
                if what == "summary.json" and key == "app":
                    row.target, row.met = "≥ 0.3", row.ratio >= 0.3
                rows.append(row)

    language_rows: list[tuple[str, Row, Load]] = []
    for (encoding, key, lang), runs in language_loads.items():
        if lang != "zh-hans":
            continue
        english = language_loads[(encoding, key, "en")]
        ratio = statistics.median(z.rps / e.rps if e.rps else 0.0 for z, e in zip(runs, english, strict=True))
        row = Row("page HTML `/zh-hans/`", through[key], median_run(runs), ratio, encoding=encoding)
        if key == "front":
            row.target, row.met = f"≥ {LANGUAGE_TARGET}", ratio >= LANGUAGE_TARGET
        language_rows.append((encoding, row, median_run(english)))

    # 4. History sizes (app alone) -------------------------------------------------------
    main_headers = [f"Accept-Encoding: {encodings[0]}"]
    scale_paths = [
        ("`/history` (HTML), first page", "/history"),
        ("`/api/v2/history.json`, first page", "/api/v2/history.json"),
        ("`/history?before=…`, 90 % down", "/history?before={cursor}"),
        ("`/api/v2/history.json?cursor=…`, 90 % down", "/api/v2/history.json?cursor={cursor}"),
        ("`/api/v2/summary.json` (hot path)", "/api/v2/summary.json"),
    ]
    scale: dict[tuple, Load] = {}
    if "history" in args.skip:
        sizes = sizes[:1]
    for i, size in enumerate(sizes):
        if "history" in args.skip:
            break
        if i:
            history_notes.append(set_history(env, size))
            time.sleep(3)  # the app's hub polls every 2 s: it has the rebuilt snapshot now
        cursor = run([str(PYTHON), "bench/_http_setup.py", "cursor", str(size * 9 // 10)], env=env).strip()
        log(f"history of {size:,} bench incidents (app alone):")
        for label, path in scale_paths:
            path = path.format(cursor=cursor)
            probe = fetch(app_port, path, {"Accept-Encoding": encodings[0]})
            if probe.status != 200:
                raise RuntimeError(f"{path} answered {probe.status}")
            # Django's views (history) serve each request in its own thread under one GIL: with
            # 50 connections the requests finish together in waves of 50, and a 5 s run counts
            # 3 or 4 waves (±30 %). 10 connections keep the count fine-grained.
            connections = args.django_connections if "history" in path else 0
            scale[(label, size)] = wrk.measure(
                f"http://127.0.0.1:{app_port}{path}", main_headers, connections=connections
            )
        if args.profile and size == sizes[-1]:
            log(f"profiling the app alone on /history at {size:,} (not in the table):")
            with profiling(True, app.pid, "history"):
                wrk.measure(f"http://127.0.0.1:{app_port}/history", main_headers, connections=args.django_connections)

    # 5. Renders per update under a 200-client burst (app alone) -----------------------
    burst = None
    if "burst" not in args.skip:
        log(f"{args.updates} updates, each followed by {args.clients} concurrent GET / (app alone):")
        burst = burst_phase(app_port, token, component, args.updates, args.clients, app_log)
        log(f"  {burst['renders']} renders for {args.updates} updates (seqs {burst['seqs']})")

    # 6. Operator writes under read load (front door) -----------------------------------
    writes = None
    if "writes" not in args.skip:
        log(f"{args.writes} writes through the front door while wrk reads / and summary.json:")
        script = var_dir / "hot-mix.lua"
        script.write_text(
            'local paths = {"/", "/api/v2/summary.json"}\nlocal i = 0\n'
            'request = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % 2) + 1])\nend\n'
        )
        with profiling(args.profile, app.pid, "writes"):
            latencies, reads = writes_under_load(
                front, token, component, args.writes, wrk, main_headers, script, var_dir
            )
        writes = {"ms": latencies, "reads": reads}
        log(
            f"  writes p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
            f"max {max(latencies):.1f} ms; reads {reads.rps:,.0f} req/s"
        )

    # The report ------------------------------------------------------------------------
    report = render_report(
        args=args,
        sizes=sizes,
        encodings=encodings,
        rows=rows,
        language_rows=language_rows,
        scale=scale,
        scale_paths=scale_paths,
        burst=burst,
        writes=writes,
        env=env,
        notes={
            "db": db_note,
            "redis": redis_note,
            "broker": broker_note,
            "history": history_notes,
            "bytes": sizes_note,
            "idle": idle_pct,
        },
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    raw = {
        "hot": {"|".join(k): [vars(load) | {"raw": None} for load in runs] for k, runs in loads.items()},
        "languages": {"|".join(k): [vars(load) | {"raw": None} for load in runs] for k, runs in language_loads.items()},
        "scale": {f"{w}|{s}": vars(load) | {"raw": None} for (w, s), load in scale.items()},
        "burst": burst,
        "writes_ms": writes and writes["ms"],
        "reads_during_writes": writes and (vars(writes["reads"]) | {"raw": None}),
    }
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    log(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    missed = [r for r in rows if r.through.startswith("front") and r.met is False]
    for r in missed:
        log(f"MISSED: {r.what} through the front door ({r.encoding}): {r.ratio:.2f} of the reference < {FRONT_TARGET}")
    for _encoding, r, _english in language_rows:
        if r.met is False:
            missed.append(r)
            log(f"MISSED: {r.what} through the front door ({r.encoding}): {r.ratio:.2f} of `/` < {LANGUAGE_TARGET}")
    return 1 if missed else 0


def render_report(*, args, sizes, encodings, rows, language_rows, scale, scale_paths, burst, writes, env, notes):
    lines = []
    add = lines.append
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary_bytes, page_bytes = notes["bytes"]["summary.json"], notes["bytes"]["index.html"]
    incident_bytes = notes["bytes"]["incident.html"]
    add(f"### HTTP benchmark, {now}")
    add("")
    add(f"`.venv/bin/python bench/http.py` on {machine()}; {versions(env)}.")
    add(
        f"Servers and nginx (1 worker) pinned to core {SERVER_CORE}, wrk `-t1 -c{args.connections}` "
        f"(and this script) to core {CLIENT_CORE}, all at nice {os.getpriority(os.PRIO_PROCESS, 0)}; "
        f"{args.warmup:g} s warm-up, then {args.duration:g} s measured. "
        f"The front door is deploy/nginx.conf.template filled in as deploy/run fills it (PUBLISH_DIR "
        f"included, `manage.py publish` run first): it answers these reads from the published files "
        f"(checked with the app stopped). The reference is the same nginx serving the same files as "
        f"static files (gzip_static) with the front door's headers, so that both send the same bytes, "
        f"headers included (checked before the runs; a second block with nothing added is measured for "
        f"the record): summary.json "
        f"{summary_bytes[0]:,} B ({summary_bytes[1]:,} B gzipped), page {page_bytes[0]:,} B "
        f"({page_bytes[1]:,} B gzipped), incident page {incident_bytes[0]:,} B ({incident_bytes[1]:,} B "
        f"gzipped). {notes['db']}; {notes['redis']}; {notes['broker']}."
    )
    add("")
    targets: list[tuple[str, str, bool | None]] = []
    for encoding in encodings:
        who = "browsers and HTTP libraries" if encoding == "gzip" else "curl, wrk's default"
        add(
            f"**Hot reads, clients sending `Accept-Encoding: {encoding}`** ({who}); ratio: req/s over the "
            "reference's in the same round (rounds of the reference, the front door, the app and bare static "
            "taken in turn), the median of --repeat rounds; req/s and p99: the median run"
        )
        add("")
        add("| request | served by | req/s | p99 | ratio to reference | target |")
        add("|---|---|---:|---:|---:|---|")
        for row in (r for r in rows if r.encoding == encoding):
            bad = f" ({row.load.bad:,} errors)" if row.load.bad else ""
            bad += NOISY if row.load.foreign_pct > NOISE_PCT else ""
            target = f"{row.target} {verdict(row.met)}".strip()
            add(
                f"| {row.what} | {row.through} | {fmt_rps(row.load)}{bad} | {fmt_ms(row.load.p99_ms)} | "
                f"{row.ratio:.2f} | {target} |"
            )
            if row.met is not None:
                where = "through the front door" if row.through.startswith("front") else "from the app alone"
                targets.append(
                    (f"{row.what} {where} {row.target} of nginx static (`{encoding}`)", f"{row.ratio:.2f}", row.met)
                )
        add("")
    if language_rows:
        add(
            "**The page in Simplified Chinese against the English page** (`/zh-hans/` and `/` in turn, "
            "--repeat rounds; ratio: `/zh-hans/` req/s over `/` req/s in the same round, the median of the rounds)"
        )
        add("")
        add("| request | served by | Accept-Encoding | `/` req/s | `/zh-hans/` req/s | ratio to `/` | target |")
        add("|---|---|---|---:|---:|---:|---|")
        for encoding, row, english in language_rows:
            target = f"{row.target} {verdict(row.met)}".strip()
            add(
                f"| {row.what} | {row.through} | {encoding} | {fmt_rps(english)} | {fmt_rps(row.load)} | "
                f"{row.ratio:.2f} | {target} |"
            )
            if row.met is not None:
                targets.append(
                    (
                        f"`/zh-hans/` through the front door {row.target} of `/` (`{encoding}`)",
                        f"{row.ratio:.2f}",
                        row.met,
                    )
                )
        add("")
    if scale:
        first_size, last_size = sizes[0], sizes[-1]
        add(
            f"**History size** (app alone, uvicorn, `Accept-Encoding: {encodings[0]}`; req/s and p99; the "
            f"history pages with wrk `-c{args.django_connections}`: Django serves each request in its own thread "
            f"under one GIL, so {args.connections} connections finish together in waves of {args.connections} and "
            "a 5 s run counts only 3 or 4 waves). Bench "
            "history is bulk-inserted (`bench/_http_setup.py`: Incident + 3 IncidentUpdate rows each, "
            "`bulk_create`, then the snapshot rebuilt), not made through the services; the demo and every "
            "write below go through the services and the API. Sizes count bench incidents; the demo adds 2, "
            f"so the first history page holds {min(first_size + 2, 25)} entries at {first_size:,} and 25 above; "
            "“90 % down” is the page after the incident 90 % of the way back (keyset cursor)."
        )
        add("")
        middle = f" | {last_size:,} ÷ {sizes[1]:,}" if len(sizes) > 2 else ""
        add(
            "| request | "
            + " | ".join(f"{s:,} incidents" for s in sizes)
            + f" | {last_size:,} ÷ {first_size:,}{middle} | target |"
        )
        add("|---|" + "---:|" * len(sizes) + "---:|" + ("---:|" if middle else "") + "---|")
        for label, _ in scale_paths:
            cells = [
                f"{fmt_rps(scale[(label, s)])}{NOISY if scale[(label, s)].foreign_pct > NOISE_PCT else ''} "
                f"({fmt_ms(scale[(label, s)].p99_ms)})"
                for s in sizes
            ]
            first, last = scale[(label, first_size)], scale[(label, last_size)]
            ratio = last.rps / first.rps if first.rps else 0.0
            mid = ""
            if middle:
                second = scale[(label, sizes[1])]
                mid = f" | {last.rps / second.rps if second.rps else 0.0:.2f}"
            target = ""
            if "first page" in label:
                target = f"≥ 0.9 {verdict(ratio >= 0.9)}"
                targets.append((f"{label} at {last_size:,} ≥ 0.9 of at {first_size:,}", f"{ratio:.2f}", ratio >= 0.9))
            # 90 % down a history of 10 is an empty page: no fair comparison with it.
            shown = "—" if "down" in label else f"{ratio:.2f}"
            add(f"| {label} | " + " | ".join(cells) + f" | {shown}{mid} | {target} |")
        add("")
    if burst or writes:
        add("**A change under load**")
        add("")
        add("| test | result | target |")
        add("|---|---|---|")
    if burst:
        bursts = burst["bursts"]
        total = len(bursts) * args.clients
        ok = sum(b["ok"] for b in bursts)
        new = sum(b["new"] for b in bursts)
        per_update = burst["renders"] / args.updates
        met = burst["renders"] == args.updates and len(set(burst["seqs"])) == args.updates
        add(
            f"| renders per update: {args.updates} × PATCH `/api/v1/components/<id>` (app alone), each followed "
            f"at once by {args.clients} concurrent GET `/` | {burst['renders']} renders for {args.updates} "
            f"updates = **{per_update:.2f}** per update; {ok:,}/{total:,} GETs 200, {new:,}/{total:,} "
            f"already the new version; a burst took {statistics.median(b['seconds'] for b in bursts) * 1000:.0f} ms "
            f"(median) | exactly 1 {verdict(met)} |"
        )
        targets.append(("one render per update", f"{per_update:.2f}", met))
    if writes:
        ms, reads = writes["ms"], writes["reads"]
        w50, w99, wmax = percentile(ms, 50), percentile(ms, 99), max(ms)
        add(
            f"| operator writes under read load: {len(ms)} sequential PATCHes through the front door while "
            f"wrk `-c{args.connections}` reads `/` and summary.json there ({reads.rps:,.0f} req/s, "
            f"{reads.bad:,} errors) | p50 {w50:.1f} ms, **p99 {w99:.1f} ms**, max {wmax:.1f} ms "
            f"| p99 < 500 ms {verdict(w99 < 500)} |"
        )
        targets.append(("operator writes p99 < 500 ms under read load", f"{w99:.0f} ms", w99 < 500))
    if burst or writes:
        add("")
    add("**Targets**")
    add("")
    for text, figure, met in targets:
        add(f"- {text}: {figure} {verdict(met)}")
    foreign = [r.load.foreign_pct for r in rows] + [x.foreign_pct for x in scale.values()] + [notes["idle"]]
    if max(foreign) > NOISE_PCT:
        add("")
        add(
            f"{NOISY.strip()} other processes on this machine used more than {NOISE_PCT}% of a core during that "
            f"run (up to {max(foreign):.0f}%): the figure may be low."
        )
    add("")
    add("History setup: " + "; ".join(notes["history"]) + ".")
    add("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
