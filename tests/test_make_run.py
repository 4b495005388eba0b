"""`make run` as a newcomer meets it: a quiet terminal that ends with the URL and the login,
the README's commands working against it as written, and a clear stop on a busy port.

These run the real Makefile in a process group of their own, on a free port and a
throwaway VAR_DIR, with the environment of a fresh shell (no SECRET_KEY, no DEBUG, no
services named): what the README promises on a new machine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .servers import ROOT, free_port

# What a newcomer's shell does not have: anything the test run or CI sets for itself.
NOT_IN_A_FRESH_SHELL = (
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "LIVE_REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "EMAIL_FILE_PATH",
    "PAGE_URL",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
)


def fresh_shell(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_A_FRESH_SHELL and not k.startswith("PYTEST_")}
    return {**env, **extra}


def readme_commands(containing: str) -> list[str]:
    """Lines of the README's shell blocks that run `containing`, as a reader would copy them."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if containing in command:
                lines.append(command)
    return lines


class Output:
    """Collects a process's merged output line by line, from a thread."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for raw in stream:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + timeout
        while not any(re.search(pattern, line) for line in self.lines):
            if process.poll() is not None:
                time.sleep(0.2)
                pytest.fail(f"make run exited ({process.returncode}) before {pattern!r}:\n" + self.text())
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} within {timeout} s:\n" + self.text())
            time.sleep(0.1)

    def text(self) -> str:
        return "\n".join(self.lines)


def make_run(port: int, var_dir) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=fresh_shell(PORT=str(port), VAR_DIR=str(var_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.live
def test_make_run_is_quiet_ends_with_the_login_and_the_readme_commands_work(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = make_run(port, var_dir)
    output = Output(process.stdout)
    try:
        output.wait_for(r"Login:\s+admin / \S+", timeout=60, process=process)
        banner_at = time.monotonic()
        # The server is already listening when the login is shown.
        assert httpx.get(url + "/", timeout=5).status_code == 200
        tail = "\n".join(output.lines[-12:])
        assert f"{url}/" in tail and f"{url}/admin/" in tail, output.text()
        password = (var_dir / "admin-password").read_text().strip()
        assert f"admin / {password}" in tail

        # The printed login reaches the admin as it is: no one-time code in the DEBUG demo.
        with httpx.Client(base_url=url, timeout=10) as browser_like:
            browser_like.get("/admin/login/")
            logged_in = browser_like.post(
                "/admin/login/?next=/admin/",
                data={
                    "username": "admin",
                    "password": password,
                    "csrfmiddlewaretoken": browser_like.cookies["csrftoken"],
                },
                headers={"Origin": url},
            )
            assert logged_in.status_code == 302 and logged_in.headers["location"] == "/admin/", logged_in.text[-2000:]
            assert browser_like.get("/admin/").status_code == 200

        # The README's token command, exactly as written, against this instance.
        (command,) = readme_commands("create_api_token admin")
        token_run = subprocess.run(  # noqa: S602 - the command as a reader pastes it into a shell
            command,
            shell=True,
            cwd=ROOT,
            env=fresh_shell(VAR_DIR=str(var_dir)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert token_run.returncode == 0, token_run.stderr
        token = token_run.stdout.strip().splitlines()[-1]
        answer = httpx.get(url + "/api/v1/components", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert answer.status_code == 200, answer.text

        # A second `make run` on the same port stops at once, naming the port, and does
        # nothing to any database first (its own VAR_DIR stays empty).
        other_var = tmp_path / "other-var"
        before = time.monotonic()
        second = subprocess.run(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=fresh_shell(PORT=str(port), VAR_DIR=str(other_var)),
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=True,
        )
        assert second.returncode != 0
        assert time.monotonic() - before < 5
        said = second.stdout + second.stderr
        assert str(port) in said and "PORT=" in said, said
        assert not (other_var / "db.sqlite3").exists()
        assert "Demo" not in said and "migrat" not in said.lower(), said

        # Routine work (beat ticks every 30 s, requests) adds nothing a newcomer must read.
        time.sleep(max(0.0, banner_at + 35 - time.monotonic()))
        assert process.poll() is None, output.text()
        assert time.monotonic() - started >= 40
        assert len(output.lines) < 40, f"{len(output.lines)} lines:\n" + output.text()
        assert output.lines[-1].strip(), output.text()
    finally:
        stop(process)


def manage(args: list[str], **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=fresh_shell(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_use_the_generated_dev_secret_when_var_has_one(tmp_path):
    """A command beside `make run` (DEBUG off, no SECRET_KEY) uses the key `make run` made;
    with none made, or with a real database named, a SECRET_KEY is still required."""
    check = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]

    refused = manage(check, VAR_DIR=str(tmp_path))
    assert refused.returncode != 0 and "SECRET_KEY is required" in refused.stderr
    assert not (tmp_path / "secret-key").exists()

    generated = "generated-by-make-run-" + "0123456789abcdefghijklmnopqrstuvwxyz"  # as long as make run's
    (tmp_path / "secret-key").write_text(generated + "\n")
    used = manage(check, VAR_DIR=str(tmp_path))
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == generated

    production = manage(check, VAR_DIR=str(tmp_path), DATABASE_URL="postgres://status@127.0.0.1:1/status")
    assert production.returncode != 0 and "SECRET_KEY is required" in production.stderr


def test_a_weak_secret_key_is_refused_at_startup_with_debug_off(tmp_path):
    """With DEBUG off the key signs sessions and subscribers' links: a short, repetitive or
    Django-"insecure" one stops every command before anything runs, saying what to do."""
    check = ["check"]
    for weak in ("change-me", "x" * 60, "django-insecure-" + "0123456789abcdefghij" * 3):
        refused = manage(check, VAR_DIR=str(tmp_path), SECRET_KEY=weak)
        assert refused.returncode != 0, weak
        assert "SECRET_KEY is too weak" in refused.stderr and "token_urlsafe(50)" in refused.stderr, refused.stderr
    strong = manage(check, VAR_DIR=str(tmp_path), SECRET_KEY="k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2)
    assert strong.returncode == 0, strong.stderr
    # DEBUG on (make run) takes any key.
    assert manage(check, VAR_DIR=str(tmp_path), SECRET_KEY="dev", DEBUG="1").returncode == 0
