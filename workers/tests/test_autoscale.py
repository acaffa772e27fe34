"""The autoscaler holds growth under CPU or memory pressure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from config.celery import app
from workers import autoscale


class FakePool:
    def __init__(self, processes: int):
        self.num_processes = processes

    def grow(self, n: int) -> None:
        self.num_processes += n

    def shrink(self, n: int) -> None:
        self.num_processes -= n

    def maintain_pool(self) -> None:
        pass


def _scaler(processes: int) -> autoscale.ResourceAwareAutoscaler:
    return autoscale.ResourceAwareAutoscaler(FakePool(processes), 40, 2, worker=SimpleNamespace())


@pytest.mark.parametrize(("cpu", "memory"), [(95.0, 10.0), (10.0, 90.0)])
def test_autoscaler_under_pressure_does_not_grow(monkeypatch, cpu, memory):
    monkeypatch.setattr(autoscale.psutil, "cpu_percent", lambda interval=None: cpu)
    monkeypatch.setattr(autoscale.psutil, "virtual_memory", lambda: SimpleNamespace(percent=memory))
    scaler = _scaler(4)
    scaler.scale_up(10)
    assert scaler.processes == 4


def test_autoscaler_with_headroom_grows_by_ten_percent_steps(monkeypatch):
    monkeypatch.setattr(autoscale.psutil, "cpu_percent", lambda interval=None: 20.0)
    monkeypatch.setattr(autoscale.psutil, "virtual_memory", lambda: SimpleNamespace(percent=40))
    scaler = _scaler(20)
    scaler.scale_up(10)
    assert scaler.processes == 22  # max(1, 10 % of 20)
    small = _scaler(3)
    small.scale_up(5)
    assert small.processes == 4


def test_celery_uses_the_resource_aware_autoscaler():
    assert app.conf.worker_autoscaler == "workers.autoscale:ResourceAwareAutoscaler"
    route = app.amqp.router.route({}, "stargazers.stargazer_crawl")
    assert route["queue"].name == "low"
