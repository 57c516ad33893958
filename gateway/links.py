"""Point the ``Links`` of the bank's answer at the gateway, and drop the links that point elsewhere.

UK OB v4 responses carry ``Links`` (``Self``, and ``First``/``Prev``/``Next``/``Last`` on paged
lists) as absolute URLs that the bank builds from its own address. Passed on as they are, they
would tell the wallet the bank's internal address and send it around the gateway (where the bank
refuses it anyway, lacking the gateway's assertion). So a link under the upstream base URL of the
API, or under one of the other bases its policy lists (``link_bases``: the bank's public address,
where it writes that rather than the one the gateway calls), is moved to the same path and query
under the API's public base at the gateway, and the query string is kept exactly (``page``,
``fromBookingDateTime``, ...). A link anywhere else (another scheme, host or port, a path outside
those bases, a relative or malformed URL) is removed rather than passed on: it would leak an
address the wallet has no business knowing or send the wallet somewhere the gateway does not
check. ``Self`` is required by the OB schemas, so a ``Self`` removed that way is replaced by the
URL the wallet called (``self_url``).

Only the top-level ``Links`` object of the OB envelope is touched. A link that is not a string
breaks the OB schemas (refused in ``enforce`` mode); in ``report`` mode it is removed, since it
could hold the same addresses.
The ``Links`` in the answers of APIs that banks publish at the gateway are treated the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from urllib.parse import SplitResult, unquote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DOT_SEGMENTS = frozenset({".", ".."})


def rewrite_links(
    body: object, *, upstream_bases: Sequence[str], public_base: str, self_url: str | None = None
) -> None:
    """Rewrite ``body["Links"]`` in place: each link under one of ``upstream_bases`` moves under ``public_base``."""
    links = body.get("Links") if isinstance(body, dict) else None
    if not isinstance(links, dict) or not links:
        return
    bases = _split(tuple(upstream_bases))
    public = public_base.rstrip("/")
    for name, url in list(links.items()):
        rest = _below_any(url, bases) if isinstance(url, str) else None
        if rest is not None:
            links[name] = public + rest
        elif name == "Self" and self_url is not None:
            links[name] = self_url
        else:
            del links[name]


@functools.lru_cache(maxsize=256)
def _split(bases: tuple[str, ...]) -> tuple[SplitResult, ...]:
    """The bases parsed once: an API's bases are the same on every call."""
    return tuple(urlsplit(base.rstrip("/")) for base in bases)


def _below_any(url: str, bases: Sequence[SplitResult]) -> str | None:
    for base in bases:
        rest = _below(url, base)
        if rest is not None:
            return rest
    return None


def _below(url: str, base: SplitResult) -> str | None:
    """The path and query of ``url`` after ``base``'s path, or None when ``url`` is not under ``base``."""
    try:
        link = urlsplit(url)
        same_origin = _origin(link) == _origin(base)
    except ValueError:  # e.g. a port that is not a number
        return None
    if not same_origin or not _inside(link.path, base.path):
        return None
    rest = link.path[len(base.path) :]
    return rest + "?" + link.query if link.query else rest


def _origin(url: SplitResult) -> tuple[str, str | None, int | None]:
    scheme = url.scheme.lower()
    return scheme, url.hostname, url.port or _DEFAULT_PORTS.get(scheme)


def _inside(path: str, base_path: str) -> bool:
    """``path`` is ``base_path`` or below it, with no ``.``/``..`` segment that could climb out."""
    if path != base_path and not path.startswith(base_path + "/"):
        return False
    return not any(unquote(segment) in _DOT_SEGMENTS for segment in path.split("/"))
