"""deploy/run starts the production stack (nginx, ASGI processes, Celery worker and beat)
on this machine against PostgreSQL, Redis and RabbitMQ, and it serves."""

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets

from .stack import production_stack

pytestmark = [pytest.mark.live, pytest.mark.xdist_group("deploy")]  # one stack, one worker


@pytest.fixture(scope="module")
def stack(postgres_url, redis_url, broker_url):
    """deploy/run on a scratch database of the test PostgreSQL, this worker's Redis
    database and the test broker (each started by the suite, or given: see conftest).
    One stack for the module: each test leaves it running as it found it."""
    with production_stack(postgres_url, redis_url, broker_url) as running:
        yield running.base, running.env, running


def test_the_production_stack_serves_through_nginx(stack):
    base, env, running = stack
    http = httpx.Client(base_url=base, timeout=10)

    # The demo was loaded by another process: this node's processes hear of it and
    # publish the files nginx serves, within a couple of seconds.
    deadline = time.monotonic() + 10
    while not http.get("/api/v2/summary.json").json()["components"]:
        assert time.monotonic() < deadline, "the demo never showed through nginx"
        time.sleep(0.2)
    published = Path(env["VAR_DIR"]) / "public"
    plain = http.get("/api/v2/summary.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert {c["name"] for c in plain.json()["components"]} >= {"Market data", "REST API"}
    # nginx sends the published file itself (its own ETag: mtime-size of the file).
    assert plain.content == (published / "api/v2/summary.json").read_bytes()
    stat = (published / "api/v2/summary.json").stat()
    assert plain.headers["etag"] == f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
    assert plain.headers["cache-control"].startswith("public, max-age=5")
    # The .gz and .br beside it, for readers that take them; 304 on a matching ETag.
    for encoding, suffix in (("gzip", ".gz"), ("br", ".br")):
        packed = http.get("/api/v2/summary.json", headers={"Accept-Encoding": encoding})
        assert packed.headers["content-encoding"] == encoding
        assert packed.json() == plain.json()
        again = http.get(
            "/api/v2/summary.json", headers={"Accept-Encoding": encoding, "If-None-Match": packed.headers["etag"]}
        )
        assert again.status_code == 304, encoding
        assert (published / f"api/v2/summary.json{suffix}").exists()

    page = http.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "Components" in page.text
    assert http.get("/incidents/" + http.get("/api/v2/incidents.json").json()["incidents"][0]["id"]).status_code == 200
    css = http.get("/static/css/status.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    # nginx labels each kind of published file as the app does, charset included.
    app = httpx.Client(base_url=f"http://127.0.0.1:{env['APP_PORT']}", timeout=10)
    incident = http.get("/api/v2/incidents.json").json()["incidents"][0]["id"]
    for path in (
        "/",
        "/history",
        "/history.atom",
        "/history.rss",
        "/api/v2/summary.json",
        f"/incidents/{incident}",
        f"/api/v2/incidents/{incident}.json",
        "/api/v5/system/status",
    ):
        front, direct = http.get(path), app.get(path)
        assert front.status_code == direct.status_code == 200, path
        assert front.headers["content-type"] == direct.headers["content-type"], (path, front.headers, direct.headers)
    okx = http.get("/api/v5/system/status").json()
    assert okx["code"] == "0" and okx["data"][0]["maintType"] == "1"

    # A WebSocket through nginx gets live events from whichever process serves it.
    async def hello():
        async with websockets.connect(base.replace("http", "ws") + "/ws/v2/events") as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(hello())["type"] == "hello"

    # Celery worker and beat came up on the broker, each logging to a file of its own; the
    # worker under this node's name (another node's worker on the broker keeps its own).
    markers = {
        "worker": (
            f"Connected to {env['CELERY_BROKER_URL'].split('://')[0]}://",
            f"statuspage-{env['LISTEN']}@",
            f".> {env['CELERY_QUEUE']} ",
            "ready.",
        ),
        "beat": ("beat: Starting",),
    }
    deadline = time.monotonic() + 30
    while missing := [m for name, wanted in markers.items() for m in wanted if m not in running.program_log(name)]:
        assert time.monotonic() < deadline, (missing, running.program_log("worker")[-3000:])
        time.sleep(0.5)

    # supervisord runs each of them, and the connection budget was printed at start.
    assert {name: state for name, (state, _) in running.status().items()} == {
        "beat": "RUNNING",
        "nginx": "RUNNING",
        "web:web-0": "RUNNING",
        "web:web-1": "RUNNING",
        "worker": "RUNNING",
    }
    assert running.budget() == 2 * (8 + 1) + (1 + 1) + 1 + 1


def test_nginx_answers_every_language_and_zone_as_the_app_does(stack):
    """The language rules nginx is given (manage.py nginx_languages) agree with the app's:
    prefixed pages and feeds from their files, a first visit to `/` sent on, OKX in the
    client's Accept-Language, `?locale=` and a chosen zone through the app."""
    base, env, _ = stack
    front = httpx.Client(base_url=base, timeout=10, headers={"Accept-Encoding": "identity"})
    app = httpx.Client(
        base_url=f"http://127.0.0.1:{env['APP_PORT']}", timeout=10, headers={"Accept-Encoding": "identity"}
    )
    deadline = time.monotonic() + 10
    while not front.get("/api/v2/incidents.json").json()["incidents"]:
        assert time.monotonic() < deadline, "the demo never showed through nginx"
        time.sleep(0.2)
    incident = front.get("/api/v2/incidents.json").json()["incidents"][0]["id"]
    published = Path(env["VAR_DIR"]) / "public"
    for path, file in (
        ("/zh-hans/", "zh-hans/index.html"),
        ("/zh-hant/history", "zh-hant/history.html"),
        (f"/zh-hans/incidents/{incident}", f"zh-hans/incidents/{incident}.html"),
        ("/zh-hant/history.atom", "zh-hant/history.atom"),
    ):
        answer, direct = front.get(path), app.get(path)
        assert answer.status_code == direct.status_code == 200, path
        assert answer.content == direct.content == (published / file).read_bytes(), path
        assert answer.headers["content-type"] == direct.headers["content-type"], path
    assert '<html lang="zh-hans">' in front.get("/zh-hans/").text
    # A first visit: the browser's first language, unless the reader chose one.
    for client in (front, app):
        sent = client.get("/", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
        assert (sent.status_code, sent.headers["location"]) == (302, "/zh-hant/"), client.base_url
        assert client.get("/", headers={"Accept-Language": "en-GB,zh;q=0.5"}).status_code == 200
        chosen = client.get("/", headers={"Accept-Language": "zh-CN", "Cookie": "page_language=en"})
        assert chosen.status_code == 200, client.base_url
    # OKX: Accept-Language, as OKX's REST API.
    english, chinese = (
        front.get("/api/v5/system/status"),
        front.get("/api/v5/system/status", headers={"Accept-Language": "zh-CN"}),
    )
    assert chinese.content == app.get("/api/v5/system/status", headers={"Accept-Language": "zh-CN"}).content
    assert [r["title"] for r in english.json()["data"]] != [r["title"] for r in chinese.json()["data"]]
    assert "Accept-Language" in chinese.headers["vary"]
    # The Statuspage reads: unchanged without a locale, translated with one.
    plain = front.get("/api/v2/summary.json", headers={"Accept-Language": "zh-CN"})
    assert plain.content == (published / "api/v2/summary.json").read_bytes()
    translated = front.get("/api/v2/summary.json?locale=zh-hant")
    assert translated.content == (published / "zh-hant/api/v2/summary.json").read_bytes() != plain.content
    # A chosen zone: the app's copy in that zone, also on the pages nginx serves itself.
    for path in ("/", "/zh-hans/", f"/incidents/{incident}"):
        zoned = front.get(path, headers={"Cookie": "page_zone=UTC"})
        assert zoned.status_code == 200 and re.search("[(（]UTC[)）]", zoned.text), path
        assert " HKT<" not in zoned.text, path


def test_a_burst_of_readers_and_a_held_lock_get_answers_never_a_500(stack):
    """Issue 11: 20 concurrent readers used up PostgreSQL's connections and writes failed
    with 500s; a table locked for 20 s hung every read that touched it. Now no connection
    outlives its request, a request that cannot get a lock in time is a 503 with
    Retry-After, and a held lock costs a read about the lock timeout (2 s)."""
    from concurrent.futures import ThreadPoolExecutor

    base, env, running = stack
    http = httpx.Client(base_url=base, timeout=15)
    incident = http.get("/api/v2/incidents.json").json()["incidents"][0]["id"]

    with ThreadPoolExecutor(max_workers=40) as readers:
        codes = [
            f.result().status_code for f in [readers.submit(http.get, f"/incidents/{incident}") for _ in range(120)]
        ]
    assert 500 not in codes and codes.count(200) >= len(codes) * 0.9, sorted(set(codes))

    with psycopg.connect(env["DATABASE_URL"]) as holder:
        holder.execute("LOCK TABLE incidents_incident IN ACCESS EXCLUSIVE MODE")
        # A public read is a published file: it never waits on the database.
        started = time.monotonic()
        page = http.get(f"/incidents/{incident}?fresh={time.monotonic_ns()}")
        read_took = time.monotonic() - started
        # A query of the database (another history page) waits at most the lock timeout.
        started = time.monotonic()
        response = http.get("/api/v2/history.json?kind=incident")
        took = time.monotonic() - started
        holder.rollback()
    assert page.status_code == 200 and read_took < 1, (page.status_code, read_took)
    assert response.status_code == 503 and response.headers["retry-after"] == "5", response.status_code
    assert took < 6, took
    assert http.get(f"/incidents/{incident}").status_code == 200


def test_sockets_refuse_compression_and_frames_over_4_kb_before_buffering_them(stack):
    """Issue 11: a client offering permessage-deflate (as browsers do) cost ~137 KB per idle
    socket, and 15 MB frames were buffered (+88 MB RSS) before the 4 KB rule closed them."""
    base, env, running = stack

    async def scenario():
        url = base.replace("http", "ws") + "/ws/v2/events"
        async with websockets.connect(url, compression="deflate") as socket:
            offered = socket.response.headers.get("Sec-WebSocket-Extensions")
            assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "hello"
            await socket.send("x" * 1_000_000)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
        return offered, closed.value.rcvd.code if closed.value.rcvd else None

    extensions, code = asyncio.run(scenario())
    assert extensions is None
    assert code == 1009


def test_with_every_app_process_stopped_every_public_read_answers_from_the_files(stack):
    """The seed's hour: the app saturated or gone. nginx answers every public read from
    this node's published files, with the last state."""
    base, env, running = stack
    http = httpx.Client(base_url=base, timeout=10)
    deadline = time.monotonic() + 10
    while not http.get("/api/v2/incidents.json").json()["incidents"]:
        assert time.monotonic() < deadline, "the demo never showed through nginx"
        time.sleep(0.2)
    incident = http.get("/api/v2/incidents.json").json()["incidents"][0]["id"]
    component = next(c["id"] for c in http.get("/api/v2/components.json").json()["components"] if not c["group"])
    reads = [
        "/",
        "/history",
        f"/incidents/{incident}",
        "/history.atom",
        "/history.rss",
        f"/components/{component}/history.atom",
        *(f"/api/v2/{suffix}" for suffix in ("summary.json", "status.json", "components.json", "incidents.json")),
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/api/v2/history.json",
        f"/api/v2/incidents/{incident}.json",
        f"/api/v2/components/{component}/uptime.json",
        "/api/v5/system/status",
        "/api/v5/system/status?state=completed",
    ]

    def answer(path, **headers):
        response = http.get(path, headers=headers)
        assert response.status_code == 200, path
        return response.content, response.headers["Content-Type"]

    before = {path: answer(path) for path in reads}
    running.ctl("stop", "web:*", "worker", "beat", check=True)
    try:
        assert http.get("/admin/login/").status_code == 502  # the app is really gone
        # A query, or a method a file does not answer, is the app's (here: gone).
        for path in ("/?view=x", "/history?page=2", "/api/v2/summary.json?x=1", f"/incidents/{incident}?x=1"):
            assert http.get(path).status_code == 502, path
        assert http.post("/api/v2/summary.json").status_code == 502
        for path in reads:
            assert answer(path, **{"Accept-Encoding": "gzip, br"}) == before[path], path
    finally:
        running.ctl("start", "web:*", "worker", "beat")


def test_a_browser_posts_forms_through_nginx_on_its_port_and_logs_in_with_a_code(stack, browser):
    """nginx forwards Host with its port (Django checks a form's Origin against it: without
    the port every browser POST was a CSRF failure); the admin login needs the password
    and the one-time code (ADMIN_REQUIRE_2FA is on with DEBUG off); every page carries the
    Content-Security-Policy, the files nginx serves itself as the app's answers."""
    from django_otp.oath import TOTP

    from .stack import manage

    base, env, running = stack
    assert not base.endswith(":80")
    key = "3132333435363738393031323334353637383930"
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "from django_otp.plugins.otp_totp.models import TOTPDevice\n"
        "u = get_user_model().objects.create_superuser('nginx-oncall', 'oncall@example.com', 'correct horse battery')\n"
        f"TOTPDevice.objects.create(user=u, name='phone', key='{key}', confirmed=True)\n",
    )
    page = browser.new_page()

    page.goto(base + "/subscribe")
    page.fill("#id_email", "reader@example.com")
    with page.expect_navigation():
        page.click(".subscription form button[type=submit]")
    assert page.url == base + "/subscribe/sent", page.content()[:2000]

    page.goto(base + "/admin/login/?next=/admin/")
    page.fill("#id_username", "nginx-oncall")
    page.fill("#id_password", "correct horse battery")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert "Enter the 6-digit code" in page.content()  # the password alone is not enough
    page.fill("#id_password", "correct horse battery")
    page.fill("#id_otp_token", f"{TOTP(bytes.fromhex(key)).token():06d}")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == base + "/admin/", page.content()[:2000]
    assert "Site administration" in page.content() or "Incidents" in page.content()

    http = httpx.Client(base_url=base, timeout=10)
    from_nginx, from_app = (
        sorted(d.strip() for d in http.get(path).headers["content-security-policy"].split(";"))
        for path in ("/", "/subscribe")
    )
    assert from_nginx == from_app and "default-src 'self'" in from_app
