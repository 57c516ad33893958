"""Split a list response into pages and write the ``Links``/``Meta`` members the spec describes.

Pages are numbered from 1 and chosen with the ``page`` query parameter; every link is the
request's own absolute URL with ``page`` replaced, so the other query parameters (the booking
date window) carry over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from starlette.datastructures import URL

from sandbox.errors import BankError

T = TypeVar("T")


def page_number(raw: str | None) -> int:
    if raw is None:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise BankError(f"page must be a positive integer, got {raw[:40]!r}", path="page")
    return int(raw)


def paginate(items: Sequence[T], url: URL, raw_page: str | None, size: int) -> tuple[Sequence[T], dict[str, Any]]:
    """The items on the requested page, and the ``Links`` and ``Meta.TotalPages`` for it."""
    page = page_number(raw_page)
    total = max(1, -(-len(items) // size))
    if page > total:
        raise BankError(f"page {page} is past the last page ({total})", path="page")
    links = {"Self": str(url)}
    if total > 1:
        links["First"] = str(url.include_query_params(page=1))
        links["Last"] = str(url.include_query_params(page=total))
    if page > 1:
        links["Prev"] = str(url.include_query_params(page=page - 1))
    if page < total:
        links["Next"] = str(url.include_query_params(page=page + 1))
    return items[(page - 1) * size : page * size], {"Links": links, "Meta": {"TotalPages": total}}
