"""`${VAR}` and `${VAR:-default}` substitution in the parsed merchants file.

Substitution runs on the YAML tree after parsing, one string scalar at a
time, so a value such as `"x\\nmerchants: []"` taken from the environment
stays a plain string: it can never add keys, list items or documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["InterpolationError", "fallbacks_used", "interpolate", "join_path", "path_of"]

# `$${` is an escaped `${`; a `${` that is neither escaped nor a well-formed
# reference is reported rather than kept, so a typo never reaches a secret.
_REFERENCE = re.compile(
    r"(?P<escaped>\$\$\{)"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<fallback>:-(?P<default>[^}]*))?\}"
    r"|(?P<malformed>\$\{)"
)
_MALFORMED = "malformed ${...} reference; write ${VAR} or ${VAR:-default}"


class InterpolationError(ValueError):
    """Some references could not be resolved.

    `problems` holds `path: message` lines, `paths` the paths of the
    scalars concerned, and `result` the tree with those references replaced
    by empty strings (so the rest of the file can still be validated).
    """

    def __init__(self, problems: list[tuple[str, str]], result: Any) -> None:
        self.paths = [path for path, _ in problems]
        self.problems = [_line(path, message) for path, message in problems]
        self.result = result
        super().__init__("\n".join(self.problems))


def interpolate(text_or_tree: Any, env: Mapping[str, str]) -> Any:
    """Return a copy of `text_or_tree` with every reference substituted.

    `text_or_tree` is a string or a tree of dicts, lists and scalars as
    `yaml.safe_load` returns it; only string scalars are rewritten (keys and
    other scalars are kept). `${VAR:-default}` uses `default` when `VAR` is
    unset or empty, as the shell does; `${VAR}` requires `VAR` to be set.
    Raises `InterpolationError` listing every unresolved reference by path.
    """
    problems: list[tuple[str, str]] = []
    result = _walk(text_or_tree, env, "", problems)
    if problems:
        raise InterpolationError(problems, result)
    return result


def fallbacks_used(tree: Any, env: Mapping[str, str], path: str = "") -> list[str]:
    """The paths of the string scalars of ``tree`` where a ``${VAR:-default}`` took its default (VAR unset or empty)."""
    if isinstance(tree, dict):
        return [p for key, value in tree.items() for p in fallbacks_used(value, env, join_path(path, key))]
    if isinstance(tree, list):
        return [p for index, value in enumerate(tree) for p in fallbacks_used(value, env, join_path(path, index))]
    if isinstance(tree, str):
        for match in _REFERENCE.finditer(tree):
            if match["name"] and match["fallback"] is not None and not env.get(match["name"]):
                return [path]
    return []


def join_path(path: str, key: Any) -> str:
    """Extend a path such as `merchants[0]` with a key (`.shopify`) or an index (`[2]`)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


_LOYALTY_TAGS = {"punchcard", "hang", "voucherify", "altcraft", "inveterate"}


def path_of(loc: Iterable[Any]) -> str:
    """Render a pydantic `loc` tuple as `merchants[1].rewards[2].reward_type`."""
    path, previous = "", None
    for key in loc:
        # The loyalty block is a union chosen by ``provider``: pydantic names the chosen member in
        # the path (``loyalty.hang.api_key``); the file has no such level.
        if not (previous == "loyalty" and key in _LOYALTY_TAGS):
            path = join_path(path, key)
        previous = key
    return path


def _walk(node: Any, env: Mapping[str, str], path: str, problems: list) -> Any:
    if isinstance(node, str):
        return _substitute(node, env, path, problems)
    if isinstance(node, dict):
        return {key: _walk(value, env, join_path(path, key), problems) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, env, join_path(path, index), problems) for index, value in enumerate(node)]
    return node


def _substitute(text: str, env: Mapping[str, str], path: str, problems: list) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "${"
        if match["malformed"]:
            problems.append((path, _MALFORMED))
            return ""
        value = env.get(match["name"])
        if match["fallback"] is not None:
            return value if value else match["default"]
        if value is None:
            problems.append((path, f"environment variable {match['name']} is not set"))
            return ""
        return value

    return _REFERENCE.sub(replace, text)


def _line(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message
