"""PostgreSQL URLs: validation and a password-free form for logs, errors and metadata."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit


class InvalidUrlError(ValueError):
    pass


def validate_pg_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidUrlError(f"not a PostgreSQL URL (expected postgresql://user@host:port/db): {redact(url)!r}")
    if not parts.hostname and "host=" not in parts.query:
        raise InvalidUrlError(f"PostgreSQL URL names no host: {redact(url)!r}")
    try:
        _ = parts.port
    except ValueError:
        raise InvalidUrlError(f"PostgreSQL URL has an invalid port: {redact(url)!r}") from None
    return url


def redact(url: str) -> str:
    """The URL with any password replaced by '***'."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def with_options(url: str, settings: Mapping[str, str]) -> str:
    """The URL with server settings that hold from the session's first statement on (libpq `options`)."""
    parts = urlsplit(url)
    option = "options=" + quote(" ".join(f"-c {name}={value}" for name, value in settings.items()))
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))
