"""The teams file (teams, and the repositories they own), its validation, and the in-memory index
``login -> memberships``.

The file is the whole truth about teams and repositories. Every rule is checked before anything is
written, so a bad file changes nothing.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

from collector.config import is_repository_name, shown
from collector.errors import TeamsFileError
from collector.models import MemberSpec, Organisation, OwnerSpec, RepositorySpec, TeamSpec

T = TypeVar("T")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

    from collector.models import Membership

# Weights are stored as NUMERIC(5,4): exact sums, no float drift in weighted counts.
WEIGHT_DECIMALS = 4
# Far more than any organisation's teams (a member is ~120 bytes); a stray device or dump is refused early.
MAX_TEAMS_FILE_BYTES = 16 * 2**20
_TOP_LEVEL_KEYS = {"teams", "repositories"}
_TEAM_KEYS = {"name", "description", "members"}
_MEMBER_KEYS = {"github_username", "allocation_weight", "joined_at", "left_at"}
_REPOSITORY_KEYS = {"name", "owners", "deployments", "incidents"}
_OWNER_KEYS = {"team", "share", "from", "until"}
# Each deployment source and the keys its "deployments" object may carry.
_SOURCE_KEYS = {
    "deployments": {"source", "environment"},
    "workflow": {"source", "workflow"},
    "releases": {"source"},
    "merges": {"source"},
}
_INCIDENT_KEYS = {"label"}
DEFAULT_DEPLOY_SOURCE = "deployments"
DEFAULT_ENVIRONMENT_PATTERN = "^(prod|production)$"
DEFAULT_INCIDENT_LABEL = "incident"
MAX_ENVIRONMENT_PATTERN_CHARS = 200
MAX_LABEL_CHARS = 50  # GitHub's limit on a label's name
MAX_WORKFLOW_ID = 2**63 - 1
# An owner without "from" owns the repository since always (stored, since owned_from is required).
SINCE_ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
_WORKFLOW_FILE = re.compile(r"[^/\\]+\.ya?ml")


def load_organisation(path: Path) -> Organisation:
    name = str(path) if shown(str(path), limit=4096) == repr(str(path)) else shown(str(path))  # not a token
    source = f"teams file {name}"
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_TEAMS_FILE_BYTES + 1)
    except OSError as exc:
        raise TeamsFileError(f"{source}: cannot read ({exc.strerror or type(exc).__name__})") from None
    except ValueError:  # a path with a NUL character in it
        raise TeamsFileError(f"{source}: not a usable path") from None
    if len(raw) > MAX_TEAMS_FILE_BYTES:
        raise TeamsFileError(f"{source}: larger than {MAX_TEAMS_FILE_BYTES // 2**20} MiB; is it the right file?")
    return parse_organisation(decode_teams_file(raw, source), source=name)


def load_teams_file(path: Path) -> tuple[TeamSpec, ...]:
    """The file's teams (its repositories validated too, and left out)."""
    return load_organisation(path).teams


def decode_teams_file(raw: bytes, source: str = "teams file") -> str:
    """The file's text: UTF-8, with or without a byte-order mark, or UTF-16/32 (Windows Notepad's "Unicode").

    JSON's first character is ASCII, so the encoding shows in the first bytes (RFC 4627, section 3), which is
    how ``json.detect_encoding`` tells. A file in a legacy code page (Notepad's "ANSI") is refused, not guessed.
    """
    encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TeamsFileError(
            f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


def parse_teams(text: str, *, source: str = "teams file") -> tuple[TeamSpec, ...]:
    """The document's teams (its repositories validated too, and left out)."""
    return parse_organisation(text, source=source).teams


def parse_organisation(text: str, *, source: str = "teams file") -> Organisation:
    """Parse and validate the JSON teams document; raise TeamsFileError naming every violation found."""
    document = _json(text, source)
    problems = _check_top_level(document, source)
    teams = tuple(_each(document["teams"], _team, lambda i: f"{source}: teams[{i}]", problems))
    repositories = tuple(_repositories(document, source, problems))
    if problems:  # every mistake at once, rather than one per attempt
        raise TeamsFileError(_all_of(problems, source))
    _check_unique_names(teams, source)
    for team in teams:
        _check_no_overlap_within_team(team, source)
    _check_total_weight(teams, source)
    _check_repositories(repositories, source)
    return Organisation(teams, repositories)


def _json(text: str, source: str) -> Any:
    try:
        document = json.loads(text, parse_float=Decimal, object_pairs_hook=lambda pairs: _unique(pairs, source))
    except json.JSONDecodeError as exc:
        raise TeamsFileError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise TeamsFileError(f"{source}: JSON nested too deeply") from None
    except (ValueError, InvalidOperation):  # more digits than Python converts, or an exponent Decimal refuses
        raise TeamsFileError(f"{source}: invalid JSON: a number too long to read") from None
    return document


class _Problems(TeamsFileError):
    """Several problems found in one part of the file (a team's members)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _unique(pairs: list[tuple[str, Any]], source: str) -> dict[str, Any]:
    """A key given twice would silently lose its first value (a second "members" drops the first list)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        twice = next(key for i, (key, _) in enumerate(pairs) if key in dict(pairs[:i]))
        raise TeamsFileError(f"{source}: the key {twice!r} appears twice in one object")
    return document


def _check_top_level(document: Any, source: str) -> list[str]:
    """Raises when the document has no teams list; returns the lesser problems, found with the rest."""
    if not isinstance(document, dict):
        raise TeamsFileError(f'{source}: expected an object {{"teams": [...]}}')
    if "teams" not in document:
        near = [key for key in document if isinstance(key, str) and key.strip().lower() == "teams"]
        hint = f" (found {near[0]!r}: keys are case-sensitive)" if near else ""
        raise TeamsFileError(f'{source}: no "teams" key{hint}; expected {{"teams": [...]}}')
    if not isinstance(document["teams"], list):
        raise TeamsFileError(f'{source}: "teams" must be a list of teams')
    problems = []
    unknown = sorted(set(document) - _TOP_LEVEL_KEYS)
    if unknown:  # a misspelt "repositories" would otherwise leave every repository out without a word
        allowed = ", ".join(sorted(_TOP_LEVEL_KEYS))
        problems.append(f"{source}: unknown top-level key {unknown[0]!r} (allowed: {allowed})")
    if not isinstance(document.get("repositories", []), list):
        problems.append(f'{source}: "repositories" must be a list of repositories')
    return problems


def _each(
    items: list[Any], parse: Callable[[Any, str], T], where: Callable[[int], str], problems: list[str]
) -> list[T]:
    """Parse every item; a bad one adds its problem and is left out, so one pass finds them all."""
    parsed = (_gather(partial(parse, raw, where(i)), problems) for i, raw in enumerate(items))
    return [item for item in parsed if item is not None]


def _gather(parse: Callable[[], T], problems: list[str]) -> T | None:
    """``parse()``, or None with its problems added to ``problems``."""
    try:
        return parse()
    except _Problems as exc:
        problems.extend(exc.problems)
    except TeamsFileError as exc:
        problems.append(str(exc))
    return None


def _all_of(problems: list[str], source: str, shown: int = 10) -> str:
    if len(problems) == 1:
        return problems[0]
    items = [p.removeprefix(f"{source}: ") for p in problems[:shown]]
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{source}: {len(problems)} problems: " + "; ".join(f"({i}) {p}" for i, p in enumerate(items, 1)) + more


def _team(raw: Any, where: str) -> TeamSpec:
    if not isinstance(raw, dict):
        raise TeamsFileError(f"{where}: expected an object")
    _reject_unknown_keys(raw, _TEAM_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TeamsFileError(f"{where}: a team needs a non-empty name")
    if not _storable(name):  # other characters the report makes safe
        raise TeamsFileError(f"{where}: the name {name!r} contains a NUL or a lone surrogate (a cut emoji)")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise TeamsFileError(f"{where} ({name}): description must be a string")
    if description is not None and not _storable(description):
        raise TeamsFileError(f"{where} ({name}): description contains a NUL or a lone surrogate (a cut emoji)")
    members = raw.get("members", [])
    if not isinstance(members, list):
        raise TeamsFileError(f"{where} ({name}): members must be a list")
    problems: list[str] = []
    parsed = tuple(_each(members, _member, lambda j: f"{where} ({name}).members[{j}]", problems))
    if problems:
        raise _Problems(problems)
    return TeamSpec(name=name.strip(), description=description, members=parsed)


def _storable(text: str) -> bool:
    """PostgreSQL's text holds neither NUL nor lone UTF-16 surrogates (JSON's "\\ud83d" of a cut emoji)."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def _member(raw: Any, where: str) -> MemberSpec:
    if not isinstance(raw, dict):
        raise TeamsFileError(f"{where}: expected an object")
    _reject_unknown_keys(raw, _MEMBER_KEYS, where)
    login = raw.get("github_username")
    if (
        not isinstance(login, str)
        or not login.strip()
        or not all(c.isprintable() and not c.isspace() for c in login.strip())
    ):
        raise TeamsFileError(f"{where}: github_username must be a non-empty login without spaces or control characters")
    where = f"{where} ({login})"
    weight = _fraction(raw.get("allocation_weight", Decimal(1)), where, "allocation_weight")
    joined_at = _instant(raw.get("joined_at"), f"{where}: joined_at")
    left_raw = raw.get("left_at")
    left_at = None if left_raw is None else _instant(left_raw, f"{where}: left_at")
    if left_at is not None and left_at <= joined_at:
        raise TeamsFileError(f"{where}: left_at {left_raw} must be after joined_at {raw.get('joined_at')}")
    return MemberSpec(login.strip(), weight, joined_at, left_at)


def _fraction(raw: Any, where: str, key: str) -> Decimal:
    """A weight or a share: a number in (0, 1] with at most WEIGHT_DECIMALS decimals, exactly as written."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise TeamsFileError(f"{where}: {key} must be a number in (0, 1]")
    try:
        weight = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - json never yields such a number
        raise TeamsFileError(f"{where}: {key} is not a number") from None
    if not weight.is_finite() or not Decimal(0) < weight <= Decimal(1):
        raise TeamsFileError(f"{where}: {key} must be in (0, 1], got {raw}")
    # Decimals counted from the digits themselves: normalize() would round 1e-999999999999999 to 0.
    _, digits, exponent = weight.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if isinstance(exponent, int) and -(exponent + trailing_zeros) > WEIGHT_DECIMALS:
        raise TeamsFileError(f"{where}: {key} {raw} has more than {WEIGHT_DECIMALS} decimals")
    return weight


def parse_instant(raw: str) -> datetime:
    """ISO-8601 date (midnight UTC) or datetime; a datetime without offset is taken as UTC.

    Raises ValueError for anything else, including an instant whose UTC time falls outside years 1-9999.
    """
    if len(raw) == 10:
        return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=UTC)
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValueError(f"{raw!r} is out of range in UTC") from None


def _instant(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise TeamsFileError(f"{where} must be an ISO-8601 date or datetime string")
    try:
        return parse_instant(raw)
    except ValueError:
        raise TeamsFileError(f"{where} {raw!r} is not an ISO-8601 date or datetime") from None


def _reject_unknown_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    # A typo such as "allocation_wieght" would otherwise silently fall back to a default.
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise TeamsFileError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _check_unique_names(teams: Iterable[TeamSpec], source: str) -> None:
    seen: set[str] = set()
    for team in teams:
        if team.name.lower() in seen:
            raise TeamsFileError(f"{source}: team {team.name!r} appears twice")
        seen.add(team.name.lower())


def _check_no_overlap_within_team(team: TeamSpec, source: str) -> None:
    by_login: dict[str, list[MemberSpec]] = defaultdict(list)
    for member in team.members:
        by_login[member.github_username.lower()].append(member)
    for spans in by_login.values():
        spans.sort(key=lambda m: m.joined_at)
        for earlier, later in pairwise(spans):
            if earlier.left_at is None or later.joined_at < earlier.left_at:
                raise TeamsFileError(
                    f"{source}: {later.github_username} has overlapping memberships in team {team.name!r} "
                    f"(joined {earlier.joined_at:%Y-%m-%d} and {later.joined_at:%Y-%m-%d})"
                )


def _check_total_weight(teams: Iterable[TeamSpec], source: str) -> None:
    """A person's weights across teams may never sum past 1 at any instant (a sweep over events)."""
    events: dict[str, list[tuple[datetime, int, Decimal]]] = defaultdict(list)
    for team in teams:
        for m in team.members:
            # At one instant a leave (order 0) happens before a join (order 1): left_at is exclusive.
            events[m.github_username.lower()].append((m.joined_at, 1, m.allocation_weight))
            if m.left_at is not None:
                events[m.github_username.lower()].append((m.left_at, 0, -m.allocation_weight))
    for login, user_events in events.items():
        total = Decimal(0)
        for instant, _order, delta in sorted(user_events, key=lambda e: (e[0], e[1])):
            total += delta
            if total > 1:
                raise TeamsFileError(
                    f"{source}: {login}'s allocation weights sum to {total} > 1 from {instant:%Y-%m-%dT%H:%M:%SZ}"
                )


# ---------------------------------------------------------------- repositories


def _repositories(document: dict[str, Any], source: str, problems: list[str]) -> list[RepositorySpec]:
    entries = document.get("repositories", [])
    if not isinstance(entries, list):
        return []  # _check_top_level said so
    declared = _declared_teams(document["teams"])
    parse = partial(_repository, teams=declared)
    return _each(entries, parse, lambda i: f"{source}: repositories[{i}]", problems)


def _declared_teams(raw_teams: list[Any]) -> dict[str, str]:
    """``lower-case name -> name`` of every team the file names, even one with other mistakes: an owner
    naming it is then not reported as naming an unknown team."""
    names = (raw.get("name") for raw in raw_teams if isinstance(raw, dict))
    return {name.strip().lower(): name.strip() for name in names if isinstance(name, str) and name.strip()}


def _repository(raw: Any, where: str, teams: Mapping[str, str]) -> RepositorySpec:
    if not isinstance(raw, dict):
        raise TeamsFileError(f"{where}: expected an object")
    _reject_unknown_keys(raw, _REPOSITORY_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not is_repository_name(name):
        raise TeamsFileError(f"{where}: name must be owner/name as GitHub spells it (e.g. acme/api), got {_what(name)}")
    where = f"{where} ({name})"
    owners = raw.get("owners", [])
    problems: list[str] = []
    if not isinstance(owners, list):
        problems.append(f"{where}: owners must be a list")
        owners = []
    parsed = _each(owners, partial(_owner, teams=teams), lambda j: f"{where}.owners[{j}]", problems)
    rule = _gather(lambda: _deploy_rule(raw.get("deployments", {}), f"{where}.deployments"), problems)
    label = _gather(lambda: _incident_label(raw.get("incidents", {}), f"{where}.incidents"), problems)
    if problems or rule is None or label is None:
        raise _Problems(problems)
    source, pattern, workflow = rule
    return RepositorySpec(name.lower(), tuple(parsed), source, pattern, workflow, label)


_KINDS = {type(None): "nothing", bool: "true or false", int: "a number", Decimal: "a number", list: "a list"}


def _what(value: Any) -> str:
    """A value from the file, quoted for a message: short text as is, anything else by its kind."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 140 else f"a {len(value)}-character text"
    return _KINDS.get(type(value), "an object")


def _owner(raw: Any, where: str, teams: Mapping[str, str]) -> OwnerSpec:
    if not isinstance(raw, dict):
        raise TeamsFileError(f"{where}: expected an object")
    _reject_unknown_keys(raw, _OWNER_KEYS, where)
    team = raw.get("team")
    if not isinstance(team, str) or team.strip().lower() not in teams:
        raise TeamsFileError(f"{where}: team must name a team of this file, got {_what(team)}")
    team = teams[team.strip().lower()]  # as the teams list spells it: team names are case-insensitive
    where = f"{where} ({team})"
    share = _fraction(raw.get("share", Decimal(1)), where, "share")
    from_raw, until_raw = raw.get("from"), raw.get("until")
    owned_from = SINCE_ALWAYS if from_raw is None else _instant(from_raw, f"{where}: from")
    owned_until = None if until_raw is None else _instant(until_raw, f"{where}: until")
    if owned_until is not None and owned_until <= owned_from:
        since = from_raw if from_raw is not None else "1970-01-01 (no from: since always)"
        raise TeamsFileError(f"{where}: until {until_raw} must be after from {since}")
    return OwnerSpec(team, share, owned_from, owned_until)


def _deploy_rule(raw: Any, where: str) -> tuple[str, str | None, str | None]:
    """``(source, environment pattern, workflow)``: what counts as a deployment of the repository."""
    if not isinstance(raw, dict):
        raise TeamsFileError(f'{where}: expected an object such as {{"source": "deployments"}}')
    source = raw.get("source", DEFAULT_DEPLOY_SOURCE)
    if not isinstance(source, str) or source not in _SOURCE_KEYS:
        raise TeamsFileError(f"{where}: source must be one of {', '.join(_SOURCE_KEYS)}, got {_what(source)}")
    _reject_unknown_keys(raw, _SOURCE_KEYS[source], f"{where} (source {source!r})")
    if source == "deployments":
        return source, _environment_pattern(raw.get("environment", DEFAULT_ENVIRONMENT_PATTERN), where), None
    if source == "workflow":
        if "workflow" not in raw:
            raise TeamsFileError(f"{where}: source 'workflow' needs a workflow: its file name (e.g. deploy.yml) or id")
        return source, None, _workflow(raw["workflow"], where)
    return source, None, None


def _environment_pattern(raw: Any, where: str) -> str:
    """A regular expression, searched case-insensitively in a deployment's environment name."""
    if not isinstance(raw, str) or not raw.strip():
        raise TeamsFileError(f"{where}: environment must be a non-empty regular expression")
    if len(raw) > MAX_ENVIRONMENT_PATTERN_CHARS:
        raise TeamsFileError(f"{where}: environment is longer than {MAX_ENVIRONMENT_PATTERN_CHARS} characters")
    if not _storable(raw):
        raise TeamsFileError(f"{where}: environment contains a NUL or a lone surrogate (a cut emoji)")
    try:
        with warnings.catch_warnings():
            # re warns about syntax it will read differently one day ("[[" as a nested set): refused now.
            warnings.simplefilter("error")
            re.compile(raw, re.IGNORECASE)
    except (re.error, FutureWarning, DeprecationWarning, RecursionError, OverflowError) as exc:
        raise TeamsFileError(f"{where}: environment {raw!r} is not a regular expression ({exc})") from None
    return raw


def _workflow(raw: Any, where: str) -> str:
    """A workflow's file name (``deploy.yml``, as in .github/workflows/) or its numeric id, as text."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_WORKFLOW_ID)):
        raw = int(raw)  # an id written as text; a longer one is no id (and int() refuses 4,300 digits)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 < raw <= MAX_WORKFLOW_ID:
            raise TeamsFileError(f"{where}: workflow id must be from 1 to {MAX_WORKFLOW_ID}, got {raw}")
        return str(raw)
    if isinstance(raw, str) and len(raw) <= 255 and raw.isprintable() and _WORKFLOW_FILE.fullmatch(raw):
        return raw
    if isinstance(raw, str) and "/" in raw:
        raise TeamsFileError(f"{where}: workflow must be the file's name only (e.g. deploy.yml), got {_what(raw)}")
    raise TeamsFileError(f"{where}: workflow must be a file name ending in .yml or .yaml, or an id, got {_what(raw)}")


def _incident_label(raw: Any, where: str) -> str:
    """The label marking incidents, as written: GitHub compares label names case-insensitively."""
    if not isinstance(raw, dict):
        raise TeamsFileError(f'{where}: expected an object such as {{"label": "incident"}}')
    _reject_unknown_keys(raw, _INCIDENT_KEYS, where)
    label = raw.get("label", DEFAULT_INCIDENT_LABEL)
    if not isinstance(label, str) or not label.strip() or not label.isprintable():  # a cut emoji is not printable
        raise TeamsFileError(f"{where}: label must be a label's name (not empty, no control characters)")
    if len(label) > MAX_LABEL_CHARS:
        raise TeamsFileError(f"{where}: label is longer than GitHub's {MAX_LABEL_CHARS} characters")
    if "," in label:  # GitHub's issues filter takes a comma-separated list: such a label cannot be asked for
        raise TeamsFileError(f"{where}: label cannot contain a comma (GitHub's labels filter splits on commas)")
    return label


def _check_repositories(repositories: Iterable[RepositorySpec], source: str) -> None:
    """Rules across entries: each repository once, each team once at a time, shares never past 1."""
    problems: list[str] = []
    seen: set[str] = set()
    for repository in repositories:
        if repository.name in seen:  # names are lower case already: GitHub's are case-insensitive
            problems.append(f"{source}: repository {repository.name!r} appears twice")
        seen.add(repository.name)
        problems.extend(_owner_overlaps(repository, source))
        problems.extend(_shares_past_one(repository, source))
    if problems:
        raise TeamsFileError(_all_of(problems, source))


def _owner_overlaps(repository: RepositorySpec, source: str) -> list[str]:
    by_team: dict[str, list[OwnerSpec]] = defaultdict(list)
    for owner in repository.owners:
        by_team[owner.team].append(owner)
    problems = []
    for team, spans in by_team.items():
        spans.sort(key=lambda o: o.owned_from)
        for earlier, later in pairwise(spans):
            if earlier.owned_until is None or later.owned_from < earlier.owned_until:
                problems.append(
                    f"{source}: repository {repository.name!r} lists team {team!r} twice for overlapping times "
                    f"(from {earlier.owned_from:%Y-%m-%d} and from {later.owned_from:%Y-%m-%d})"
                )
                break
    return problems


def _shares_past_one(repository: RepositorySpec, source: str) -> list[str]:
    """A sweep over the owners' boundaries, like _check_total_weight's: the first instant past 1, if any."""
    events = []
    for owner in repository.owners:
        # At one instant an end (order 0) comes before a start (order 1): until is exclusive.
        events.append((owner.owned_from, 1, owner.share))
        if owner.owned_until is not None:
            events.append((owner.owned_until, 0, -owner.share))
    total = Decimal(0)
    for instant, _order, delta in sorted(events, key=lambda e: (e[0], e[1])):
        total += delta
        if total > 1:
            return [
                f"{source}: repository {repository.name!r}: its owners' shares sum to {total} > 1 "
                f"from {instant:%Y-%m-%dT%H:%M:%SZ}"
            ]
    return []


class MembershipIndex:
    """``login (lower-case) -> memberships``, loaded once per run. GitHub logins are case-insensitive."""

    def __init__(self, memberships: Iterable[Membership]) -> None:
        index: dict[str, list[Membership]] = defaultdict(list)
        for membership in memberships:
            index[membership.github_username.lower()].append(membership)
        self._index = {login: tuple(sorted(ms, key=lambda m: m.joined_at)) for login, ms in index.items()}

    def __len__(self) -> int:
        return sum(len(ms) for ms in self._index.values())

    def memberships_of(self, login: str) -> tuple[Membership, ...]:
        return self._index.get(login.lower(), ())

    def active_at(self, login: str, instant: datetime) -> tuple[Membership, ...]:
        return tuple(m for m in self.memberships_of(login) if m.active_at(instant))
