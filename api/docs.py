"""``/partner-api/docs``: a page listing every endpoint of the OpenAPI document, rendered on the server."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template_string

from api.common import spec

bp = Blueprint("partner_docs", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ info.title }}</title>
<style>
 body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2433}
 h1{margin-bottom:.2rem} .lede{color:#5b6474} table{border-collapse:collapse;width:100%;margin-top:1rem}
 td,th{border-bottom:1px solid #e3e6ec;padding:.45rem .5rem;text-align:left;vertical-align:top}
 code{font:13px ui-monospace,monospace} .m{font-weight:700;text-transform:uppercase;font-size:12px}
 .get{color:#0a7a3d}.post{color:#1d5fd1}.patch{color:#a25c00}.delete{color:#b3261e}
</style></head><body>
<h1>{{ info.title }}</h1>
<p class="lede">{{ info.description }} Version {{ info.version }}. Authenticate with
<code>X-API-Key: &lt;key&gt;</code> or <code>Authorization: Bearer &lt;key&gt;</code>.
The machine-readable document is <a href="{{ spec_url }}">{{ spec_url }}</a>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
{% for path, methods in paths %}{% for method, op in methods %}
<tr><td class="m {{ method }}">{{ method }}</td><td><code>{{ path }}</code></td>
<td>{{ op.summary or "" }}{% if op.description %}<br><small>{{ op.description }}</small>{% endif %}</td></tr>
{% endfor %}{% endfor %}
</tbody></table></body></html>"""


SPEC_URL = "/partner-api/openapi.json"


@bp.get(SPEC_URL)
def openapi():
    """The OpenAPI 3 document, generated from the models that validate the requests."""
    return jsonify(spec.spec)


@bp.get("/partner-api/docs")
def docs():
    """The endpoints of the partner API, from the same document that validates requests."""
    document = spec.spec
    paths = sorted((path, sorted(ops.items())) for path, ops in document["paths"].items())
    return render_template_string(PAGE, info=document["info"], paths=paths, spec_url=SPEC_URL)
