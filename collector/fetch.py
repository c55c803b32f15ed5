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

from collector.models import PullRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from collector.github_api import GitHubClient

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
        items = response.data if isinstance(response.data, list) else []
        prs = [pull_from_json(item, listing.repository) for item in items]
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


def pull_from_json(item: dict[str, Any], repository: str) -> PullRequest:
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    user_type = user.get("type") if isinstance(user, dict) else None
    base = item.get("base") or {}
    base_repo = base.get("repo") or {}
    return PullRequest(
        repository=repository,
        number=int(item["number"]),
        title=item.get("title") or "",
        author=None if login in (None, GHOST_LOGIN) else login,
        is_bot=user_type == "Bot" or (login or "").endswith("[bot]"),
        state=item["state"],
        draft=bool(item.get("draft")),
        base_ref=base.get("ref") or "",
        default_branch=base_repo.get("default_branch") or "",
        created_at=_time(item["created_at"]),
        updated_at=_time(item["updated_at"]),
        closed_at=_optional_time(item.get("closed_at")),
        merged_at=_optional_time(item.get("merged_at")),
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else _time(value)


def _next_url(link: str | None) -> str | None:
    if not link:
        return None
    match = _NEXT_LINK.search(link)
    return match[1] if match else None
