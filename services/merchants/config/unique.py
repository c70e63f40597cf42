"""Values that must be unique across the merchants file: slugs, API keys, shop domains, restaurant GUIDs, reward uuids.

A duplicate is reported at its later occurrence as `duplicate of <path of the
first>`; when the two occurrences belong to different merchants the line
names both (spec/merchants.md: a restaurant or shop that is already another
merchant's is a validation error naming both merchants). Values are read
leniently from the raw tree (or from models), so duplicates are reported
together with every other error. Messages never quote the value: it may be
a secret (API keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr
from pydantic_core import InitErrorDetails, PydanticCustomError

from .interpolate import path_of

__all__ = ["detail", "duplicate_errors"]


def detail(kind: str, message: str, loc: tuple, ctx: dict | None = None) -> InitErrorDetails:
    """A pydantic error at `loc` whose message is exactly `message` (`ctx` kept for the loader's wording)."""
    return InitErrorDetails(type=PydanticCustomError(kind, message, ctx), loc=loc, input=None)


def _uuid_key(text: str) -> str:
    return text.lower().removeprefix("urn:uuid:").strip("{}").replace("-", "")


# (path inside a merchant, normalization) of the values unique in a file
_UNIQUE = (
    (("slug",), str),
    (("api_keys", "*"), str),
    (("shopify", "shop_domain"), str.lower),
    (("toast", "restaurant_guids", "*"), _uuid_key),
    (("rewards", "*", "uuid"), _uuid_key),
)


def duplicate_errors(data: Any) -> list[InitErrorDetails]:
    """Every later occurrence of a value that must be unique in the file, as an error at its path."""
    first_seen: dict[tuple, tuple] = {}
    errors = []
    for path, normalize in _UNIQUE:
        for loc, value in _pick(data, ("merchants", "*", *path), ()):
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not isinstance(text, str) or not text.strip():
                continue
            first = first_seen.setdefault((path, normalize(text.strip())), loc)
            if first != loc:
                errors.append(detail("duplicate", _duplicate_message(data, first, loc, path), loc))
    return errors


def _duplicate_message(data: Any, first: tuple, later: tuple, path: tuple) -> str:
    message = f"duplicate of {path_of(first)}"
    if path == ("slug",) or first[1] == later[1]:
        return message  # the same merchant twice, or a value repeated inside one merchant
    return f"{message}; merchants {_slug(data, first[1])} and {_slug(data, later[1])} cannot both have it"


def _slug(data: Any, index: int) -> str:
    """The slug of merchant `index` as written, or its path when it has no readable slug."""
    slugs = [value for _, value in _pick(data, ("merchants", index, "slug"), ())]
    return slugs[0] if slugs and isinstance(slugs[0], str) and slugs[0].strip() else f"merchants[{index}]"


def _pick(node: Any, path: tuple, loc: tuple) -> Iterator[tuple[tuple, Any]]:
    """Values at `path` under `node`, `*` standing for every list item (an int for one of them)."""
    if not path:
        yield loc, node
    elif path[0] == "*" or isinstance(path[0], int):
        items = node if isinstance(node, list) else []
        for index, item in enumerate(items):
            if path[0] == "*" or path[0] == index:
                yield from _pick(item, path[1:], (*loc, index))
    else:
        child = node.get(path[0]) if isinstance(node, dict) else getattr(node, path[0], None)
        yield from _pick(child, path[1:], (*loc, path[0]))
