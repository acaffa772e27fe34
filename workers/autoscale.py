"""Worker autoscaling that respects the machine's resources.

Celery's autoscaler grows the pool whenever messages wait. The pool may grow only while
CPU stays under 80 % and memory under 85 %, by max(1, 10 %) of the current size per
step; this subclass adds exactly that. Enabled by
`worker_autoscaler` in config/celery.py and used when a worker runs with
`--autoscale=MAX,MIN`.
"""

from __future__ import annotations

import logging

import psutil
from celery.worker.autoscale import Autoscaler

logger = logging.getLogger(__name__)

CPU_CEILING = 80.0
MEMORY_CEILING = 85.0


def resources_allow_growth() -> tuple[bool, float, float]:
    """(allowed, cpu %, memory %): growth only below both ceilings."""
    cpu = psutil.cpu_percent(interval=None)
    memory = psutil.virtual_memory().percent
    return cpu <= CPU_CEILING and memory <= MEMORY_CEILING, cpu, memory


class ResourceAwareAutoscaler(Autoscaler):
    """Grows like Celery's autoscaler, but not under CPU or memory pressure."""

    def scale_up(self, n: int):
        allowed, cpu, memory = resources_allow_growth()
        if not allowed:
            logger.info(
                "stargazers.autoscale_held",
                extra={"cpu_percent": cpu, "memory_percent": memory, "wanted": n},
            )
            return None
        # One step: max(1, 10 % of the current pool) at a time.
        step = min(n, max(1, self.processes // 10))
        return super().scale_up(step)
