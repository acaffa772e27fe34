"""Shared fixtures: one in-thread simulator per session (no Django needed)."""

from __future__ import annotations

import pytest
import requests

from ghsim.testing import SimulatorThread


@pytest.fixture(scope="session")
def sim():
    s = SimulatorThread(seed=1).start()
    yield s
    s.stop()


@pytest.fixture()
def fresh(sim):
    sim.reset()
    yield sim
    sim.reset()


@pytest.fixture(scope="session")
def http():
    with requests.Session() as s:
        yield s


def tok(login: str = "avery-lin", tag: str = "t") -> dict:
    return {"Authorization": f"token sim_{login}_{tag}"}
