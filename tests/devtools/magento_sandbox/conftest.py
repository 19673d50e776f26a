"""Fixtures for the Magento sandbox tests: one server per session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devtools.magento_sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture(scope="session")
def magento_sandbox_session() -> Iterator[SandboxHandle]:
    with running_sandbox(token="test-token", admin_password="Secret-123") as handle:
        yield handle


@pytest.fixture
def sb(magento_sandbox_session: SandboxHandle) -> SandboxHandle:
    """The running sandbox, back in its initial state (catalog, log, stats, faults, config)."""
    magento_sandbox_session.reset()
    return magento_sandbox_session


@pytest.fixture
def client(sb: SandboxHandle) -> Iterator[httpx.Client]:
    """Authenticated client on ``<base>/rest``."""
    with sb.client() as c:
        yield c
