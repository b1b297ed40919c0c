"""The registry: its keys are the CLI's format choices; every reporter renders every case."""

from __future__ import annotations

import pytest

from orgdrift.errors import ExitCode, UsageError
from orgdrift.reporters import REPORTERS, RenderOptions, get_reporter

from .factory import CASES


def test_registry_keys_are_the_documented_formats() -> None:
    assert list(REPORTERS) == [
        "text",
        "json",
        "markdown",
        "junit",
        "sarif",
        "github",
        "html",
        "codequality",
        "intoto",
    ]


@pytest.mark.parametrize("name", list(REPORTERS))
def test_reporter_class_describes_itself(name: str) -> None:
    reporter = get_reporter(name)
    assert reporter.name == name
    assert reporter.description
    assert reporter.suffix.startswith(".")


def test_unknown_format_is_a_usage_error_listing_choices() -> None:
    with pytest.raises(UsageError) as caught:
        get_reporter("yaml")
    assert caught.value.exit_code is ExitCode.USAGE
    assert "'yaml'" in str(caught.value)
    for name in REPORTERS:
        assert name in str(caught.value)


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REPORTERS["x"] = REPORTERS["text"]  # type: ignore[index]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", list(REPORTERS))
def test_render_is_deterministic_and_ends_with_newline(name: str, case: str) -> None:
    reporter = get_reporter(name)
    first = reporter.render(CASES[case](), RenderOptions())
    second = reporter.render(CASES[case](), RenderOptions())
    assert first == second
    assert first.endswith("\n")
    assert not first.endswith("\n\n")


@pytest.mark.parametrize("name", [n for n in REPORTERS if n != "text"])
def test_color_option_never_reaches_machine_formats(name: str) -> None:
    report = CASES["drift"]()
    plain = get_reporter(name).render(report, RenderOptions())
    assert get_reporter(name).render(report, RenderOptions(color=True)) == plain
    assert "\x1b" not in plain
