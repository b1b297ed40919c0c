"""Every format x every case is pinned by a golden file under tests/golden/reporters/."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orgdrift.reporters import REPORTERS, RenderOptions, get_reporter

from .factory import CASES

GoldenCheck = Callable[[str, str], None]

_EXTENSION = {
    "text": "txt",
    "json": "json",
    "markdown": "md",
    "junit": "xml",
    "sarif": "sarif",
    "github": "github.txt",
    "html": "html",
    "codequality": "json",
    "intoto": "json",
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_golden(fmt: str, case: str, golden: GoldenCheck) -> None:
    output = get_reporter(fmt).render(CASES[case](), RenderOptions())
    golden(f"reporters/{fmt}/{case}.{_EXTENSION[fmt]}", output)


@pytest.mark.parametrize("case", ["drift", "nasty"])
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_golden_verbose(fmt: str, case: str, golden: GoldenCheck) -> None:
    output = get_reporter(fmt).render(CASES[case](), RenderOptions(verbose=True))
    golden(f"reporters/{fmt}/{case}-verbose.{_EXTENSION[fmt]}", output)


def test_golden_text_color(golden: GoldenCheck) -> None:
    output = get_reporter("text").render(CASES["drift"](), RenderOptions(color=True))
    golden("reporters/text/drift-color.txt", output)


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_every_format_has_an_extension(fmt: str) -> None:
    assert fmt in _EXTENSION
