"""JSON Schemas shipped inside the package (and read from the source tree in a checkout)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SPEC_SCHEMA = "orgdrift.schema.json"
REPORT_SCHEMA = "report.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load a packaged JSON Schema by file name."""
    packaged = resources.files("orgdrift").joinpath("schemas", name)
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:  # a source checkout: the wheel maps schemas/ into orgdrift/schemas/
        text = (Path(__file__).resolve().parent.parent / "schemas" / name).read_text(
            encoding="utf-8"
        )
    schema: dict[str, Any] = json.loads(text)
    return schema
