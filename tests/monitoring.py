"""Monitoring of the tests' own: a small exporter whose values a test sets, and Debian's
Prometheus scraping it every second, on loopback on free ports (tests/test_alertmanager.py,
tests/test_public_metrics.py)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .private_services import Server


class Exporter:
    """Prometheus' text format on loopback, the values set by the test."""

    def __init__(self, **values: float):
        self.values = dict(values)
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = "".join(f"{name} {value}\n" for name, value in exporter.values.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def prometheus_server(workdir: Path, port: int) -> Server:
    """A Prometheus on `port` with `workdir`/prometheus.yml (not started: `up()`)."""
    return Server(
        [
            "/usr/bin/prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--rules.alert.resend-delay=1s",
        ],
        log=workdir / "prometheus.log",
        port=port,
        url=f"http://127.0.0.1:{port}",
        what="prometheus",
    )
