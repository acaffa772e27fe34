"""Log lines: every extra field shown (key=value or JSON), and one request id per request."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import Client

from config.logs import GazerJsonFormatter, KeyValueFormatter, RequestIdLogFilter


def _record(**extra) -> logging.LogRecord:
    logger = logging.getLogger("stargazers.services.crawl")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "stargazers.progress", (), None, extra=extra
    )


def test_plain_format_shows_every_extra_field_as_key_value():
    record = _record(repo="a/b", page=10, stored=1000, worker="w@h:1/x", error="bad thing")
    RequestIdLogFilter().filter(record)
    line = KeyValueFormatter().format(record)
    assert "INFO stargazers.services.crawl [-] stargazers.progress" in line
    assert line.endswith('error="bad thing" page=10 repo=a/b stored=1000 worker=w@h:1/x')


def test_json_format_is_one_object_with_extras_and_request_id():
    record = _record(repo="a/b", page=10, figures={"released": 1})
    RequestIdLogFilter().filter(record)
    line = GazerJsonFormatter().format(record)
    assert "\n" not in line
    body = json.loads(line)
    assert body["message"] == "stargazers.progress"
    assert body["level"] == "INFO"
    assert body["logger"] == "stargazers.services.crawl"
    assert body["request_id"] == "-"
    assert body["page"] == 10 and body["repo"] == "a/b" and body["figures"] == {"released": 1}
    assert "timestamp" in body


def test_json_exception_stays_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        logger = logging.getLogger("x")
        import sys

        record = logger.makeRecord("x", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    RequestIdLogFilter().filter(record)
    line = GazerJsonFormatter().format(record)
    assert "\n" not in line and "ValueError" in json.loads(line)["exc_info"]


@pytest.fixture(params=["plain", "json"])
def captured(request):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(KeyValueFormatter() if request.param == "plain" else GazerJsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield request.param, stream
    root.removeHandler(handler)


def _ids(fmt: str, text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    if fmt == "json":
        return [json.loads(line)["request_id"] for line in lines]
    return [line.split("[", 1)[1].split("]", 1)[0] for line in lines if "[" in line]


@pytest.mark.urls("tests.urls")
@pytest.mark.parametrize("path", ["/logged-broken", "/broken"])
def test_a_500_and_its_request_lines_share_the_response_request_id(captured, path):
    fmt, stream = captured
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert request_id and request_id != "-"
    text = stream.getvalue()
    ids = _ids(fmt, text)
    assert len(ids) >= 2, text  # the view's or handler's line and django.request's 500
    assert set(ids) == {request_id}, text
    if path == "/logged-broken":
        assert ("page=3" in text) if fmt == "plain" else ('"page": 3' in text)


@pytest.mark.urls("tests.urls")
def test_a_404_line_carries_the_request_id(captured):
    fmt, stream = captured
    response = Client().get("/no/such/route", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert set(_ids(fmt, stream.getvalue())) == {"abc-123"}


def test_log_format_must_be_plain_or_json():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; django.setup()"],
        env={
            **__import__("os").environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_FORMAT": "xml",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "LOG_FORMAT must be plain or json" in result.stderr
