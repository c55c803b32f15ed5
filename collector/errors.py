"""Errors a user can act on. Each carries a one-line message that never contains a secret. Also the two
helpers that word what people read: one line, and counts with their plural."""


def one_line(text: str) -> str:
    """``text`` as one printable line: a line break, a terminal escape or an unencodable character from an input
    is shown escaped, never acted on."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


# Characters that act on a terminal or a viewer instead of being shown: control characters (an escape sequence
# drives a terminal, a newline forges a log line) and bidirectional marks, overrides and isolates (they reorder
# text). As a regular-expression character class.
TERMINAL_CONTROLS = "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with its noun: "1 PR", "2 PRs", "3 repositories" (given the plural when it is not singular + s)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


class CollectorError(Exception):
    """Base for expected failures: the CLI prints the message and exits non-zero; Lambda's log shows it. Either
    way it is one line, whatever an input put into it."""

    exit_code = 2

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class ConfigError(CollectorError):
    """The environment (or a secret) is missing or malformed."""


class TeamsFileError(CollectorError):
    """The teams file is unreadable or violates a rule; nothing was stored."""


class DatabaseError(CollectorError):
    """The database is unreachable, rejected us, or its schema is not current."""


class LockTakenError(DatabaseError):
    """Another run (or a teams sync) holds a lock this one needs: trying again shortly will do."""


class GitHubAuthError(CollectorError):
    """GitHub rejected the token: no repository can be collected, so the run stops at once."""


class GitHubUnavailableError(CollectorError):
    """GitHub could not be reached (or kept failing) after bounded retries."""


class RunFailedError(CollectorError):
    """A run finished but at least one repository failed."""

    exit_code = 1
