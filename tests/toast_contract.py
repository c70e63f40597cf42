"""Validate our Toast Loyalty answers against the response schemas of Toast's own OpenAPI document."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

# A copy of ../shared/reference/toast/toast-loyalty-api.yaml (Toast v1.1.0), so the suite stands alone.
TOAST_LOYALTY_YAML = Path(__file__).resolve().parent / "contracts" / "toast-loyalty-api.yaml"


def _to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: local refs to definitions, ``nullable`` to a null type."""
    if isinstance(node, dict):
        out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "format", "xml")}
        if "$ref" in out:
            out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    return node


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft7Validator:
    document = yaml.safe_load(TOAST_LOYALTY_YAML.read_text())
    definitions = _to_json_schema(document["components"]["schemas"])
    schema = {"$ref": "#/definitions/LoyaltyTransactionResponse", "definitions": definitions}
    return jsonschema.Draft7Validator(schema)


def validate_response(body: dict) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` is a valid ``LoyaltyTransactionResponse``."""
    _validator().validate(json.loads(json.dumps(body)))
