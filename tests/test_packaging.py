"""The wheel ships the spec schema where `orgdrift.resources` looks for it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = "orgdrift/schemas/orgdrift.schema.json"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    # --no-isolation: use the installed hatchling instead of downloading one (works offline).
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(outdir),
            str(ROOT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    (built,) = outdir.glob("orgdrift-*.whl")
    return built


def test_wheel_ships_the_spec_schema(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(PACKAGED)
    assert shipped == (ROOT / "schemas" / "orgdrift.schema.json").read_bytes()


def test_wheel_ships_every_schema_orgdrift_reads(wheel: Path) -> None:
    """Every file orgdrift reads back is checked against a schema in the package."""
    sources = sorted((ROOT / "schemas").glob("*.schema.json"))
    assert len(sources) >= 3
    with zipfile.ZipFile(wheel) as archive:
        for source in sources:
            assert archive.read(f"orgdrift/schemas/{source.name}") == source.read_bytes()


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert {
        "orgdrift/__init__.py",
        "orgdrift/py.typed",
        "orgdrift/spec.py",
        "orgdrift/yamlload.py",
    } <= names
    assert not any(name.startswith(("tests/", "examples/")) for name in names)
    assert "orgdrift = orgdrift.cli:main" in scripts
