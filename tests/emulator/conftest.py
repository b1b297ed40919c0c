"""Fixtures of the emulator tests (helpers live in support.py)."""

from __future__ import annotations

import pytest

from .support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
