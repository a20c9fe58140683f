"""Fixtures for the fetch tests: a local PHS portal and a client that never really sleeps."""

from __future__ import annotations

import pytest

from clusterqi.portal import PortalClient
from tests.fetch.phs_portal import build_phs_portal
from tests.fetch.portal_server import start_portal

#: Seconds a test client waits on a socket (the local server answers in milliseconds).
TEST_TIMEOUT = 5.0


@pytest.fixture
def portal():
    """A real HTTP server on 127.0.0.1 serving the five PHS datasets (tests.fetch.phs_portal)."""
    fake, server, thread = start_portal()
    build_phs_portal(fake)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the client asked for, in order (recorded instead of slept)."""
    return []


@pytest.fixture
def client(portal, sleeps) -> PortalClient:
    """A client of the local portal: backoff recorded in ``sleeps``, jitter at its maximum."""
    return PortalClient(portal.url, timeout=TEST_TIMEOUT, sleep=sleeps.append,
                        jitter=lambda low, high: high, progress=False)
