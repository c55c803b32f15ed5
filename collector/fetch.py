"""List one repository's pull requests, newest-updated first, down to a cutoff; models out.

``GET /pulls`` has no ``since`` parameter, so incremental collection sorts by ``updated``
descending and stops at the first item older than the cutoff. ``state=all`` brings open PRs in
the same listing at no extra request. Items are converted to frozen models right here, from the
list fields only: a PyGithub object would fetch each PR again for fields like ``merged``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from collector.github_api import GitHubClient, GitHubRequestError
from collector.models import PullRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
GHOST_LOGIN = "ghost"  # GitHub's stand-in for deleted accounts


@dataclass
class Listing:
    """Filled in while ``pages()`` is consumed: what the caller stores once every page is committed."""

    repository: str
    cutoff: datetime
    etag: str | None = None
    not_modified: bool = False
    complete: bool = False
    newest_update: datetime | None = None
    pages_read: int = field(default=0)


def list_pull_pages(client: GitHubClient, listing: Listing, known_etag: str | None) -> Iterator[list[PullRequest]]:
    """Yield pages of PRs updated at or after ``listing.cutoff``; the first page is conditional.

    When nothing changed since the stored ETag, GitHub answers 304, which costs no rate limit.
    """
    url: str | None = f"/repos/{listing.repository}/pulls"
    params: dict[str, Any] | None = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100}
    while url is not None:
        first = listing.pages_read == 0
        headers = {"If-None-Match": known_etag} if first and known_etag else None
        response = client.get(url, params, headers)
        if response.status == 304:
            listing.not_modified = listing.complete = True
            return
        listing.pages_read += 1
        if first:
            listing.etag = response.headers.get("etag")
        prs = decode_page(response.body, listing.repository)
        fresh = [pr for pr in prs if pr.updated_at >= listing.cutoff]
        if fresh and listing.newest_update is None:
            listing.newest_update = max(pr.updated_at for pr in fresh)
        if fresh:
            yield fresh
        # The Link URL carries every query parameter: follow it verbatim.
        url, params = _next_url(response.headers.get("link")), None
        if len(fresh) < len(prs) or url is None:
            listing.complete = True
            return


class _User(msgspec.Struct):
    login: str
    type: str | None = None


class _Repo(msgspec.Struct):
    default_branch: str = ""


class _Base(msgspec.Struct):
    ref: str = ""
    repo: _Repo | None = None


class _ListedPull(msgspec.Struct):
    """The list fields we read. Everything else in an item (``head``, ``_links``, most of ``base.repo``:
    most of its ~15 KB) is skipped by the decoder without ever becoming Python objects."""

    number: int
    state: str
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    user: _User | None = None
    draft: bool | None = None
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    base: _Base | None = None


_PAGE = msgspec.json.Decoder(list[_ListedPull])


def decode_page(body: str | bytes, repository: str) -> list[PullRequest]:
    try:
        items = _PAGE.decode(body)
    except msgspec.ValidationError as exc:
        raise GitHubRequestError(f"unexpected list answer from GitHub: {exc}") from None
    return [_model(item, repository) for item in items]


def _model(item: _ListedPull, repository: str) -> PullRequest:
    login = item.user.login if item.user else None
    base = item.base or _Base()
    return PullRequest(
        repository=repository,
        number=item.number,
        title=item.title or "",
        author=None if login in (None, GHOST_LOGIN) else login,
        is_bot=(item.user is not None and item.user.type == "Bot") or (login or "").endswith("[bot]"),
        state=item.state,
        draft=bool(item.draft),
        base_ref=base.ref,
        default_branch=base.repo.default_branch if base.repo else "",
        created_at=item.created_at,
        updated_at=item.updated_at,
        closed_at=item.closed_at,
        merged_at=item.merged_at,
    )


def _next_url(link: str | None) -> str | None:
    if not link:
        return None
    match = _NEXT_LINK.search(link)
    return match[1] if match else None
