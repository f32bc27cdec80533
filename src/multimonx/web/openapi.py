"""The OpenAPI 3.1 description of the REST API, shipped as ``openapi.yaml`` in this package
and served as JSON at ``GET /api/v1/openapi.json``."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def openapi_document(version: str) -> dict[str, Any]:
    """The description, with ``info.version`` set to the server's ``version``."""
    text = resources.files(__package__).joinpath("openapi.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    if version:
        doc["info"]["version"] = version
    return doc
