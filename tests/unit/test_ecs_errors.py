"""ECS errors as conditions and Events show them: one readable line, whatever answered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
from botocore.config import Config

from fargate_operator.ecs.errors import MESSAGE_LIMIT, from_botocore, one_line

PAGE = (
    b"<!doctype html>\n<html lang=en>\n<head><title>500 Internal Server Error</title></head>\n"
    b"<body><h1>Internal Server Error</h1>\n<p>The server encountered an internal error.</p></body></html>\n"
)


@pytest.fixture
def html_endpoint() -> Iterator[str]:
    """A loopback HTTP server answering every request with an HTML 500 page, as a broken emulator did."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_html_error_page_becomes_one_readable_line(html_endpoint: str) -> None:
    client = boto3.client(
        "ecs",
        endpoint_url=html_endpoint,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(Exception) as caught:
        client.run_task(taskDefinition="web")
    err = from_botocore("RunTask", caught.value)
    assert err.code == "HTTP500" and err.transient
    assert err.message == "non-ECS answer: 500 Internal Server Error"
    assert "\n" not in str(err) and "<" not in str(err)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cluster not found.", "Cluster not found."),
        ("line one\n  line two", "line one line two"),
        ("<html><body><h1>Bad &amp; gateway</h1></body></html>", "non-ECS answer: Bad & gateway"),
    ],
)
def test_one_line(raw: str, expected: str) -> None:
    assert one_line(raw) == expected


def test_one_line_is_bounded() -> None:
    assert len(one_line("x" * 5000)) == MESSAGE_LIMIT
