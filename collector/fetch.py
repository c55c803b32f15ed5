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
_LAST_PAGE = re.compile(r'<[^>]*[?&]page=(\d+)[^>]*>;\s*rel="last"')
GHOST_LOGIN = "ghost"  # GitHub's stand-in for deleted accounts


@dataclass
class Listing:
    """One repository's listing, read a page at a time (``read_page``) from any thread.

    What it learns is what the caller stores once every page is committed: the first page's ETag,
    the newest update seen, and whether the listing reached its end (``complete``).
    """

    repository: str
    cutoff: datetime
    known_etag: str | None = None  # sent with the first page: a 304 means nothing changed
    etag: str | None = None
    not_modified: bool = False
    complete: bool = False
    newest_update: datetime | None = None
    pages_read: int = field(default=0)
    last_page: int | None = None  # GitHub's Link rel="last" on the first page: the listing's length
    _next: tuple[str, dict[str, Any] | None] | None = field(default=None, repr=False)

    @property
    def pages_left(self) -> int:
        """Pages still to read at most. The cutoff may end an incremental listing sooner."""
        if self.complete:
            return 0
        if self.last_page is None:
            return 1
        return max(self.last_page - self.pages_read, 0)


def read_page(client: GitHubClient, listing: Listing) -> list[PullRequest]:
    """Read the listing's next page: its PRs updated at or after the cutoff (maybe none).

    Sets ``listing.complete`` after the last page. The first page is conditional when an ETag is
    known: GitHub answers 304, which costs no rate limit, when nothing changed.
    """
    assert not listing.complete, "read past the end of a listing"
    first = listing.pages_read == 0
    url, params = listing._next or (
        f"/repos/{listing.repository}/pulls",
        {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100},
    )
    headers = {"If-None-Match": listing.known_etag} if first and listing.known_etag else None
    response = client.get(url, params, headers, claimant=listing.repository, first_page=first)
    if response.status == 304:  # only ever the first page, before the listing claimed anything
        listing.not_modified = listing.complete = True
        return []
    listing.pages_read += 1
    link = response.headers.get("link")
    if first:
        listing.etag = response.headers.get("etag")
        listing.last_page = _last_page(link)
    prs = decode_page(response.body, listing.repository)
    fresh = [pr for pr in prs if pr.updated_at >= listing.cutoff]
    if fresh and listing.newest_update is None:
        listing.newest_update = max(pr.updated_at for pr in fresh)
    # The Link URL carries every query parameter: follow it verbatim.
    next_url = _next_url(link)
    listing._next = (next_url, None) if next_url else None
    listing.complete = len(fresh) < len(prs) or next_url is None
    client.claim(listing.repository, listing.pages_left)
    return fresh


def list_pull_pages(client: GitHubClient, listing: Listing) -> Iterator[list[PullRequest]]:
    """Every remaining non-empty page of the listing, read in order by one thread."""
    while not listing.complete:
        page = read_page(client, listing)
        if page:
            yield page


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


def _last_page(link: str | None) -> int:
    """The first page of a one-page listing has no Link at all."""
    match = _LAST_PAGE.search(link or "")
    return int(match[1]) if match else 1


def _next_url(link: str | None) -> str | None:
    if not link:
        return None
    match = _NEXT_LINK.search(link)
    return match[1] if match else None
