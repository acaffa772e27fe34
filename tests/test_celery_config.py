"""The worker settings the design rules depend on."""

from config.celery import TASK_ROUTES, app
from workers import queues


def test_celery_queues_are_consumed_in_priority_order():
    assert [q.name for q in app.conf.task_queues] == ["high", "default", "low"]
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_celery_reliability_settings():
    conf = app.conf
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is False
    assert conf.task_default_priority is not None
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_time_limit > conf.task_soft_time_limit
    assert conf.worker_send_task_events is True
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_visibility_timeout_exceeds_longest_task(settings):
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > settings.STARGAZER_TASK_DEADLINE_SECONDS


def test_every_route_names_a_known_queue():
    assert {route["queue"] for route in TASK_ROUTES.values()} <= set(queues.ALL)
