"""A guard around kombu's Redis transport for a broker that restarts.

When Redis goes away while a worker holds unacknowledged messages (tasks with an ETA
or countdown), Celery closes the lost connection, and kombu's channel tries to put
those messages back (`QoS.restore_unacked`) through a transport whose connection is
already gone: `AttributeError: 'NoneType' object has no attribute 'hostname'`, which
Celery treats as unrecoverable and the worker exits (kombu 5.7.0). With the guard, the
restore is skipped when there is no connection left to restore through, and the worker
reconnects. Nothing is lost: a Redis that kept its data still holds the messages in its
unacked index (kombu restores them after `visibility_timeout`), and every piece of work
has a row that the database sweeps enqueue again.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

_original_restore_unacked = kombu_redis.QoS.restore_unacked


def _restore_unacked(self, client=None):
    if client is None and getattr(self.channel.connection, "client", None) is None:
        logger.warning(
            "broker.restore_skipped: connection gone, %d unacknowledged message(s) left to "
            "the visibility timeout and the sweeps",
            len(self._delivered),
        )
        self._delivered.clear()
        return None
    return _original_restore_unacked(self, client)


def restore_guard_install() -> None:
    """Install the guard (idempotent); called where each Celery app is built."""
    if kombu_redis.QoS.restore_unacked is not _restore_unacked:
        kombu_redis.QoS.restore_unacked = _restore_unacked
