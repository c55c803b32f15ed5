"""``dora-collector serve``: the API Lambda's application behind a local HTTP server.

An adapter, not a router: each HTTP request becomes the event API Gateway's HTTP API (payload format 2.0)
sends the function, and the same resolver answers it. The event follows API Gateway's translation where
it matters: the path arrives percent-decoded, repeated query parameters and headers are joined with commas,
header names are lower case, cookies travel apart.
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    from email.message import Message
    from types import TracebackType

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # no route takes a body; API Gateway's own limit is 10 MB


class ApiServer(ThreadingHTTPServer):
    """Serves ``app`` on ``host:port`` (0: any free port). ``with ApiServer(...)`` serves from a thread."""

    daemon_threads = True

    def __init__(self, app: APIGatewayHttpResolver, host: str = "127.0.0.1", port: int = 0) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.app = app
        # Powertools keeps the event being resolved on its resolver class, shared by every instance: one
        # resolution at a time, as in one Lambda container. Sockets are still read and written in parallel.
        self.resolving = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def __enter__(self) -> ApiServer:
        self._thread = threading.Thread(target=self.serve_forever, name="dora-api", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"  # keep-alive: a polling client reuses its connection
    # The head and the body go out as two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK of the head, 40 ms on Linux, on every answer of a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = 30  # seconds a connection may stay silent: an unfinished request must not hold a thread for ever

    def version_string(self) -> str:
        return "dora-collector"

    def do_GET(self) -> None:
        started = time.perf_counter()
        if self.headers.get("Transfer-Encoding") is not None or len(self.headers.get_all("Content-Length") or []) > 1:
            # A body framed in a way this server does not read could hide a second request (smuggling).
            self.close_connection = True
            self.send_error(400, "Transfer-Encoding and repeated Content-Length are not accepted")
            return
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isascii() and declared.isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True  # a body not read whole must not be parsed as the next request
        body = self.rfile.read(length) if 0 < length <= MAX_BODY else b""
        event = http_api_event(self.command, self.path, self.headers, body, self.client_address[0])
        context: Any = _Context(event["requestContext"]["requestId"])
        with self.server.resolving:
            result = self.server.app.resolve(event, context)
        # Logged before the answer leaves, so a client that has its answer knows the line is written. The path
        # only: a query string is the client's to fill, and stays out of the log.
        logger.info(
            "%s %s %s",
            self.command,
            event["rawPath"],
            result["statusCode"],
            extra={"ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        self._reply(result)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _reply(self, result: dict[str, Any]) -> None:
        status, body = int(result["statusCode"]), result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        self.send_response(status)
        for name, value in (result.get("headers") or {}).items():
            self.send_header(name, value)
        for cookie in result.get("cookies") or []:
            self.send_header("Set-Cookie", cookie)
        bodiless = status in (204, 304)  # RFC 9110: neither has content, nor a length for it
        if not bodiless:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
        """http.server's own lines would carry the request line, query string included: ``do_GET`` logs."""


class _Context:
    """The part of a Lambda context anything here reads."""

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self.function_name = "dora-collector-serve"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000  # API Gateway's integration timeout


def http_api_event(method: str, target: str, headers: Message, body: bytes, source_ip: str) -> dict[str, Any]:
    """The HTTP API (payload 2.0) event for one request, as API Gateway would send it to the function."""
    raw_path, _, query = target.partition("?")
    path = unquote(raw_path)
    joined: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    cookies = [c.strip() for c in joined.pop("cookie", "").split(";") if c.strip()]
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": joined.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event
