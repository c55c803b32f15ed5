"""Read one page of a repository's pull requests, newest-updated first; models out, never PyGithub objects.

``GET /pulls`` has no ``since`` parameter, so collection sorts by ``updated`` descending and a sweep
stops at the first item older than its lower bound (``collector.cursor``). ``state=all`` brings open
PRs in the same listing at no extra request. Items are decoded one by one from the list fields only:
one item GitHub sends that we cannot read is refused alone (``Refusal``), never its page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import msgspec
from requests.utils import parse_header_links

from collector.github_api import GitHubRequestError, GitHubTimeoutError, clean_text
from collector.keys import parse_reverts
from collector.models import PullRequest, Refusal

if TYPE_CHECKING:
    from collector.github_api import GitHubClient

GHOST_LOGIN = "ghost"  # GitHub's stand-in for deleted accounts
PER_PAGE = 100  # GitHub's maximum: fewest requests per PR. Pages are numbered in units of 100.
# A page GitHub times out on (502/504 after its 10 s limit) is read again in smaller parts.
SMALLER_PAGES = (50, 25)
# Titles longer than this are cut (GitHub allows 256 characters): a hostile body must not bloat rows.
MAX_TITLE = 1000
EXCERPT = 200  # characters of an offending item kept with its refusal
_INT4 = 2**31 - 1
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before GitHub existed: a value this old is not a real time
_FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Page:
    """What one page of the listing says: its PRs, its refused items, and where the listing goes on."""

    number: int
    prs: tuple[PullRequest, ...]
    refused: tuple[Refusal, ...]
    oldest_update: datetime | None  # of the page's last readable item
    has_next: bool
    last_page: int | None  # GitHub's Link rel="last": how long the listing says it is
    etag: str | None
    not_modified: bool = False
    server_time: datetime | None = None  # GitHub's Date header


def read_page(client: GitHubClient, repository: str, page: int, *, etag: str | None = None) -> Page:
    """Page ``page`` (of 100) of the listing. With ``etag``, GitHub answers 304 (free) if nothing changed."""
    try:
        return _read(client, repository, page, PER_PAGE, etag)
    except GitHubTimeoutError:
        return _read_in_parts(client, repository, page)


def read_pull(client: GitHubClient, repository: str, number: int) -> tuple[PullRequest | None, Refusal | None]:
    """One PR by number (``GET /pulls/{n}``, a superset of a list item): to retry a quarantined one."""
    response = client.get(f"/repos/{repository}/pulls/{number}")
    prs, refused, _ = decode_page(f"[{response.body}]", repository)
    if len(prs) == 1 and prs[0].number == number:
        return prs[0], None
    # Whatever else came (nothing, another PR, an item without a number) is this PR's refusal, so its
    # quarantine row is the one that counts the try.
    reason = refused[0].reason if refused else f"GitHub's answer is not pull request #{number}"
    return None, Refusal(repository, str(number), number, reason, clean_text(response.body, limit=EXCERPT))


def find_page(client: GitHubClient, repository: str, before: datetime) -> int:
    """The first page holding a PR updated before ``before``: a binary search, about log2(pages) requests."""
    first = read_page(client, repository, 1)
    low, high = 1, max(first.last_page or 1, 1)
    while low < high:
        middle = (low + high) // 2
        oldest = read_page(client, repository, middle).oldest_update
        if oldest is not None and oldest >= before:
            low = middle + 1
        else:
            high = middle
    return low


def _read(client: GitHubClient, repository: str, page: int, per_page: int, etag: str | None) -> Page:
    params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": per_page, "page": page}
    headers = {"If-None-Match": etag} if etag else None
    response = client.get(f"/repos/{repository}/pulls", params, headers)
    if response.status == 304:
        return Page(page, (), (), None, has_next=False, last_page=None, etag=etag, not_modified=True,
                    server_time=server_time(response.headers))  # fmt: skip
    prs, refused, oldest = decode_page(response.body, repository)
    has_next, last_page = listing_links(response.headers)
    return Page(
        number=page,
        prs=prs,
        refused=refused,
        oldest_update=oldest,
        has_next=has_next,
        last_page=last_page,
        etag=etag_worth_keeping(response.headers.get("etag")),
        server_time=server_time(response.headers),
    )


def _read_in_parts(client: GitHubClient, repository: str, page: int) -> Page:
    """Page ``page`` of 100 as 2 pages of 50, else 4 of 25: the same items, each part under GitHub's limit."""
    for size in SMALLER_PAGES:
        parts_per_page = PER_PAGE // size
        first_part = (page - 1) * parts_per_page + 1
        try:
            parts = [_read(client, repository, first_part + i, size, None) for i in range(parts_per_page)]
        except GitHubTimeoutError:
            continue
        last_part = parts[-1]
        oldest = next((p.oldest_update for p in reversed(parts) if p.oldest_update is not None), None)
        return Page(
            number=page,
            prs=tuple(pr for part in parts for pr in part.prs),
            refused=tuple(r for part in parts for r in part.refused),
            oldest_update=oldest,
            has_next=last_part.has_next,
            last_page=-(-last_part.last_page // parts_per_page) if last_part.last_page else None,
            etag=None,
        )
    raise GitHubRequestError(f"GitHub timed out on page {page} even {SMALLER_PAGES[-1]} pull requests at a time")


def listing_links(headers: dict[str, str]) -> tuple[bool, int | None]:
    """Whether GitHub's ``Link`` header says a next page follows, and the last page's number it names."""
    links = {link.get("rel"): link.get("url", "") for link in parse_header_links(headers.get("link", ""))}
    return "next" in links, _page_number(links.get("last"))


def server_time(headers: dict[str, str]) -> datetime | None:
    """GitHub's clock when it answered: its ``Date`` header."""
    try:
        parsed = parsedate_to_datetime(headers.get("date") or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None


def etag_worth_keeping(value: str | None) -> str | None:
    """An ETag worth storing and sending back: short, printable ASCII (RFC 9110's entity-tag)."""
    if value and len(value) <= 200 and value.isascii() and value.isprintable():
        return value
    return None


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    for pair in url.split("?", 1)[-1].split("&"):
        key, _, value = pair.partition("=")
        if key == "page" and value.isdigit() and len(value) < 9:
            return int(value)
    return None


# ---------------------------------------------------------------- decoding, one item at a time


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
    body: str | None = None  # read for a revert's "Reverts owner/repo#N", never stored


class _Numbered(msgspec.Struct):
    number: int | None = None
    updated_at: str | None = None


_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_ITEM = msgspec.json.Decoder(_ListedPull)
_NUMBERED = msgspec.json.Decoder(_Numbered)


def decode_page(
    body: str | bytes, repository: str
) -> tuple[tuple[PullRequest, ...], tuple[Refusal, ...], datetime | None]:
    """The page's PRs, its refused items, and the oldest ``updated_at`` among the items read."""
    try:
        items = _ITEMS.decode(body)
    except msgspec.DecodeError as exc:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not _LONE_SURROGATE.search(text):
            raise GitHubRequestError(
                f"GitHub's answer is not a list of pull requests: {clean_text(str(exc))}"
            ) from None
        return decode_page(_LONE_SURROGATE.sub(r"\\ufffd", text), repository)
    prs: list[PullRequest] = []
    refused: list[Refusal] = []
    for raw in items:
        try:
            prs.append(_checked(_model(_ITEM.decode(raw), repository)))
        except (msgspec.DecodeError, Implausible) as exc:
            refused.append(_refusal(raw, repository, str(exc)))
    oldest = min((pr.updated_at for pr in prs), default=None)
    return tuple(prs), tuple(refused), oldest


# A UTF-16 half without its other half: valid in JavaScript, refused by the JSON decoder and by UTF-8.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class Implausible(ValueError):
    """A value GitHub could not have meant: kept out like an undecodable one."""


def _model(item: _ListedPull, repository: str) -> PullRequest:
    login = item.user.login if item.user else None
    base = item.base or _Base()
    reverts = parse_reverts(item.body, repository)
    return PullRequest(
        repository=repository,
        number=item.number,
        title=faithful_text(item.title or "")[:MAX_TITLE],
        author=None if login in (None, GHOST_LOGIN) else faithful_text(login),
        is_bot=(item.user is not None and item.user.type == "Bot") or (login or "").endswith("[bot]"),
        state=item.state,
        draft=bool(item.draft),
        base_ref=faithful_text(base.ref),
        default_branch=faithful_text(base.repo.default_branch if base.repo else ""),
        created_at=item.created_at,
        updated_at=item.updated_at,
        closed_at=item.closed_at,
        merged_at=item.merged_at,
        reverts_number=reverts if reverts != item.number else None,
    )


def faithful_text(value: str) -> str:
    """The faithful normalisations (README): PostgreSQL text cannot hold NUL, nor UTF-8 lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    return value


def _checked(pr: PullRequest) -> PullRequest:
    if not 0 < pr.number <= _INT4:
        raise Implausible(f"number {pr.number} is out of range")
    if pr.state not in ("open", "closed"):
        raise Implausible(f"state {pr.state[:20]!r} is neither open nor closed")
    times = {"created_at": pr.created_at, "updated_at": pr.updated_at, "closed_at": pr.closed_at,
             "merged_at": pr.merged_at}  # fmt: skip
    for name, value in times.items():
        check_time(name, value)
    if pr.merged_at is not None and pr.merged_at < pr.created_at:
        raise Implausible("merged_at is before created_at")
    if not pr.author and pr.author is not None:
        raise Implausible("the author's login is empty")
    return pr


def check_time(name: str, value: datetime | None) -> None:
    """``Implausible`` unless the time is absent or one GitHub could mean: zoned, after 2000, not ahead of
    our clock by more than a day."""
    if value is None:
        return
    if value.tzinfo is None:
        raise Implausible(f"{name} has no time zone")
    if not _EARLIEST <= value <= datetime.now(UTC) + _FUTURE_SLACK:
        raise Implausible(f"{name} {value.isoformat()} is not a plausible time")


def _refusal(raw: msgspec.Raw, repository: str, reason: str) -> Refusal:
    text = bytes(raw).decode("utf-8", "replace")
    try:
        number = _NUMBERED.decode(raw).number
    except msgspec.DecodeError:
        number = None
    if number is not None and not 0 < number <= _INT4:
        number = None
    item = str(number) if number is not None else "sha256:" + hashlib.sha256(bytes(raw)).hexdigest()[:16]
    return Refusal(repository, item, number, clean_text(reason), clean_text(text, limit=EXCERPT))
