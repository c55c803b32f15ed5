"""A client for the read API in tests: real HTTP against ``serve``'s server, and the known dataset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from collector.api.app import create_app
from collector.api.data import make_api_engine
from collector.api.local import ApiServer
from collector.testing.fake_github import FakeGitHub
from tests.helpers import add, at, collect, member, merged_pull, sync, team_doc

# The default ranges end here (the API's "today"); every merge below is before it, so nothing is in progress.
TODAY = date(2025, 4, 30)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Api:
    def __init__(self, server: ApiServer, key: str | None = None) -> None:
        self.server, self.key = server, key

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, headers: dict[str, str] | None = None, *, key: str | None = None, method: str = "GET"):
        sent = dict(headers or {})
        key = key if key is not None else self.key
        if key:
            sent["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url + path, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), error.read())


class serving:
    """``serve``'s server over the test database (or a login's URL), on a free port, for a with block."""

    def __init__(self, database: Engine | str) -> None:
        url = database if isinstance(database, str) else database.url.render_as_string(hide_password=False)
        self.engine = make_api_engine(url, pool_size=2)
        self.server = ApiServer(create_app(self.engine, today=lambda: TODAY))

    def __enter__(self) -> ApiServer:
        return self.server.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)
        self.engine.dispose()


def known_dataset(engine: Engine, fake: FakeGitHub) -> None:
    """platform: alice (1.0) and bob (0.5); mobile: bob (0.5) and carol. Merges in March and April 2025:

    - week of 3 March: alice #1 (10 h), bob #2 (24 h, credited to both teams at 0.5)
    - week of 10 March: nothing
    - week of 17 March: alice #3 (2 h)
    - week of 31 March: alice #4-#8, 2-6 April, 1 to 5 hours
    """
    sync(
        engine,
        team_doc(
            ("platform", [member("alice"), member("bob", weight=0.5)]),
            ("mobile", [member("bob", weight=0.5), member("carol")]),
        ),
    )
    pulls = [
        merged_pull(1, "alice", created=at("2025-03-03T08:00:00"), merged=at("2025-03-03T18:00:00")),
        merged_pull(2, "bob", created=at("2025-03-04T00:00:00"), merged=at("2025-03-05T00:00:00")),
        merged_pull(3, "alice", created=at("2025-03-18T10:00:00"), merged=at("2025-03-18T12:00:00")),
    ]
    for n, hours in zip(range(4, 9), range(1, 6), strict=True):
        merged = at(f"2025-04-0{n - 2}T20:00:00")
        pulls.append(merged_pull(n, "alice", created=merged.replace(hour=20 - hours), merged=merged))
    add(fake, "acme/api", *pulls)
    collect(engine, fake, ["acme/api"])
