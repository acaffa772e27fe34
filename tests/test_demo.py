"""The demo's plumbing: its environment file, its log files, its banner."""

from __future__ import annotations

import contextlib
import io
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.test_settings import load_settings
from workers import demo


def test_env_file_carries_what_a_command_needs_to_reach_the_demo():
    text = demo.env_file_text(demo.demo_env({"DATABASE_URL": "postgres://x@h:1/d"}))
    values = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    assert values["DATABASE_URL"] == "postgres://x@h:1/d"
    assert values["REDIS_URL"] == "redis://127.0.0.1:6379/0"  # the default, spelled out
    assert values["GITHUB_API_URL"] == f"{demo.SIM}/api/v3"
    assert values["LLM_API_BASE"] == f"{demo.SIM}/v1" and values["LLM_API_KEY"]
    assert values["ADMIN_API_KEY"] == demo.DEMO_ADMIN_KEY


def test_settings_read_the_named_env_file_over_the_shell(monkeypatch, tmp_path):
    path = tmp_path / ".env.demo"
    path.write_text("GITHUB_API_URL=http://127.0.0.1:9100/api/v3\nLLM_API_KEY=from-file\n")
    s = load_settings(
        monkeypatch,
        GAZER_ENV_FILE=str(path),
        GITHUB_API_URL="https://api.github.com",
        LLM_API_KEY="from-the-shell",  # set here so the test restores it afterwards
    )
    assert s["GITHUB_API_URL"] == "http://127.0.0.1:9100/api/v3"
    assert s["LLM_API_KEY"] == "from-file"
    assert s["ENV_SOURCES"][0] == f"{path} (GAZER_ENV_FILE)"


def test_settings_refuse_a_missing_env_file(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="GAZER_ENV_FILE"):
        load_settings(monkeypatch, GAZER_ENV_FILE="/nonexistent/.env.demo")


def test_process_output_goes_to_log_files_unless_verbose():
    quiet = dict(demo.process_spec(verbose=False))
    assert str(demo.LOG_DIR / "worker.log") in quiet["worker"]
    assert quiet["worker"].startswith("exec ") and "2>&1" in quiet["worker"]
    assert "workers.demo announce" in quiet["demo"] and ">>" not in quiet["demo"]
    loud = dict(demo.process_spec(verbose=True))
    assert ">>" not in loud["worker"]
    assert f"127.0.0.1:{demo.WEB_PORT}" in loud["web"]


def test_banner_prints_no_url_that_needs_more_than_a_get():
    text = demo.banner(["avery-lin"], states={"avery-lin": "ready"})
    assert "1 of 1 demo profiles ready" in text
    assert f"{demo.WEB}/admin-api/stats" in text
    assert f"{demo.WEB}/admin-api/ " not in text and not text.rstrip().endswith("/admin-api/")
    for _label, url in demo.profile_links("avery-lin"):
        assert url in text


def test_banner_marks_a_url_that_does_not_answer(monkeypatch):
    monkeypatch.setattr(demo, "_get", lambda url, timeout=3.0: 404 if "health" in url else 200)
    text = demo.banner([], states={}, check=True)
    assert f"{demo.WEB}/health  (answered 404)" in text
    assert "answered" not in text.replace(f"{demo.WEB}/health  (answered 404)", "")


@pytest.mark.django_db
def test_doctor_says_which_environment_it_checked():
    from django.core.management import call_command

    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("doctor", stdout=out)
    first = out.getvalue().splitlines()[0]
    assert first.startswith("environment") and "read from" in first and "database" in first


class _RefusingWeb(BaseHTTPRequestHandler):
    """A web server that is up but refuses every sign-in with the per-client rate."""

    def do_GET(self):
        self._answer(200 if self.path == "/readyz" else 404, b'{"ok": true}')

    def do_POST(self):
        body = b'{"ok": false, "error": {"code": "throttled", "message": "Request was throttled."}}'
        self._answer(429, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_demo_stops_with_the_reason_when_its_sign_ins_are_refused(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingWeb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(demo, "WEB", f"http://127.0.0.1:{server.server_address[1]}")
    previous = signal.getsignal(signal.SIGTERM)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            assert demo.announce() == 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        server.server_close()
    text = out.getvalue()
    assert "could not sign in the demo users" in text
    assert "login of avery-lin: HTTP 429 Request was throttled." in text
    assert "demo profiles ready" not in text and "Gazer demo is up" not in text
