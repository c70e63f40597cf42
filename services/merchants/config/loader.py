"""Read, interpolate and validate the merchants file (spec/merchants.md).

A file that does not validate is refused as a whole with every problem
listed as `path: message`, e.g. `merchants[0].shopify.shop_domain: must end
with .myshopify.com`. Problem lines are built from each error's location and
message only (never its input), and any secret value of the file is masked
in them as a last guard.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .interpolate import InterpolationError, fallbacks_used, interpolate, path_of
from .schema import MerchantsFile

__all__ = ["ConfigError", "fallback_secrets", "load_config_file", "parse_config"]

ROOT = "(root)"
SECRET_KEYS = frozenset({"api_keys", "webhook_secret", "loyalty_api_key", "client_secret", "access_token"})
_FRIENDLY = {
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
}
_MASK = "***"


class ConfigError(Exception):
    """The merchants file was refused; `problems` lists every `path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid merchants config:\n  " + "\n  ".join(self.problems))


def parse_config(text: str, env: Mapping[str, str]) -> MerchantsFile:
    """Parse the YAML `text`, substitute `${VAR}` references from `env`, and
    validate it. Returns the `MerchantsFile` or raises `ConfigError` listing
    YAML, interpolation and validation problems together (a YAML syntax
    error stops there, as nothing else can be read)."""
    problems: list[str] = []
    tree = _read_yaml(text, problems)
    try:
        tree, unset = _interpolate(tree, env, problems)
        model = _validate(tree, unset, problems)
    except RecursionError:
        raise ConfigError([f"{ROOT}: the file contains a recursive YAML alias"]) from None
    if problems:
        raise ConfigError(_redact(problems, _secrets(tree)))
    return model


def fallback_secrets(path: str | os.PathLike, env: Mapping[str, str] = os.environ) -> list[str]:
    """The paths of the secrets of the merchants file at ``path`` that a ``${VAR:-default}`` fallback supplied.

    Production mode refuses them: the default is a development value. Raises
    ``ConfigError`` when the file does not load at all.
    """
    load_config_file(path, env)
    tree = _read_yaml(Path(path).read_text(encoding="utf-8"), [])
    return [p for p in fallbacks_used(tree, env) if _names_secret(p)]


def _names_secret(path: str) -> bool:
    # merchants[0].toast.webhook_secret, merchants[0].api_keys[1], merchants[0].shopify.webhook_secret[0]
    return any(part.split("[")[0] in SECRET_KEYS for part in path.split("."))


def load_config_file(path: str | os.PathLike, env: Mapping[str, str] = os.environ) -> MerchantsFile:
    """Read the merchants file at `path` (UTF-8) and `parse_config` it;
    an unreadable file is a `ConfigError` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError([f"{path}: cannot read the file ({reason})"]) from None
    return parse_config(text, env)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads floats as exact Decimals and records duplicate
    keys (PyYAML would silently keep the last one)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if (key_node.tag, key_node.value) in seen:
                    self.duplicate_keys.append(f"{_where(key_node.start_mark)}: duplicate key {key_node.value}")
                seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep=deep)


def _construct_decimal(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf, .nan, 1:30.5 (sexagesimal)
        return Decimal(repr(loader.construct_yaml_float(node)))


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _read_yaml(text: str, problems: list[str]) -> Any:
    loader = _Loader(text)
    try:
        tree = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc)]) from None
    finally:
        loader.dispose()
    problems.extend(loader.duplicate_keys)
    return tree


def _interpolate(tree: Any, env: Mapping[str, str], problems: list[str]) -> tuple[Any, list[str]]:
    try:
        return interpolate(tree, env), []
    except InterpolationError as exc:
        problems.extend(exc.problems)
        return exc.result, exc.paths


def _validate(tree: Any, unset: list[str], problems: list[str]) -> MerchantsFile | None:
    if tree is None:
        problems.append(f"{ROOT}: the file is empty; expected a top-level merchants list")
        return None
    try:
        return MerchantsFile.model_validate(tree)
    except ValidationError as exc:
        lines = [(path_of(error["loc"]), _message(error)) for error in exc.errors()]
        # A scalar whose variable is unset was already reported as such.
        problems.extend(f"{path or ROOT}: {msg}" for path, msg in lines if not _under(path, unset))
        return None


# Bounds, in the file's wording (pydantic's own says "Input should be ...").
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
    "string_too_long": ("max_length", "must be at most {} characters"),
    "too_long": ("max_length", "must be at most {} characters"),  # a length bound after a validator (strings only)
    "decimal_max_digits": ("max_digits", "must have at most {} digits"),
}


def _message(error: Any) -> str:
    bound = _BOUNDS.get(error["type"])
    if bound is not None and bound[0] in error.get("ctx", {}):
        return bound[1].format(error["ctx"][bound[0]])
    message = _FRIENDLY.get(error["type"], error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _under(path: str, parents: list[str]) -> bool:
    return any(path == parent or path.startswith((parent + ".", parent + "[")) for parent in parents)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"{ROOT}: invalid YAML ({type(exc).__name__})"
    context = getattr(exc, "context", None)
    return f"{_where(mark)}: {problem}" + (f" ({context})" if context else "")


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _secrets(tree: Any, secret: bool = False) -> set[str]:
    if isinstance(tree, dict):
        return set().union(*(_secrets(value, secret or key in SECRET_KEYS) for key, value in tree.items()))
    if isinstance(tree, list):
        return set().union(*(_secrets(value, secret) for value in tree))
    return {tree} if secret and isinstance(tree, str) and len(tree) >= 4 else set()


def _redact(problems: list[str], secrets: set[str]) -> list[str]:
    ordered = sorted(secrets, key=len, reverse=True)
    redacted = []
    for line in problems:
        for secret in ordered:
            line = line.replace(secret, _MASK)
        redacted.append(line)
    return redacted
