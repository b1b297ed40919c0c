"""JSON Schemas shipped inside the package (and read from the source tree in a checkout)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SPEC_SCHEMA = "orgdrift.schema.json"
REPORT_SCHEMA = "report.schema.json"
REPORT_V1_SCHEMA = "report-v1.schema.json"  # the first report format, still read
REPORT_V2_SCHEMA = "report-v2.schema.json"  # the second (before the evidence), still read
REPORT_V3_SCHEMA = "report-v3.schema.json"  # the third (one snapshot file), still read
SNAPSHOT_SCHEMA = "snapshot.schema.json"


def _packaged(folder: str, source_folder: str, name: str) -> bytes:
    packaged = resources.files("orgdrift").joinpath(folder, name)
    if packaged.is_file():
        return packaged.read_bytes()
    # a source checkout: the wheel maps these files into the package
    return (Path(__file__).resolve().parent.parent / source_folder / name).read_bytes()


def demo_bytes(name: str) -> bytes:
    """`orgs.yaml` or `tenant.json`: the example spec and tenant `orgdrift demo` uses."""
    return _packaged("demo", "examples", name)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load a packaged JSON Schema by file name."""
    schema: dict[str, Any] = json.loads(_packaged("schemas", "schemas", name))
    return schema
