"""The users app's response bodies: one output serializer per answer, shared by the view
and the command that give it (`manage.py login` prints what `POST .../login` answers).

Services and selectors return data (results, rows, dicts without `ok`); these add the
envelope's `ok: true` and pick the fields.
"""

from __future__ import annotations

from rest_framework import serializers

STATES = ["queued", "running", "waiting", "ready", "failed"]


class UserLoginOutputSerializer(serializers.Serializer):
    """A `LoginResult`."""

    ok = serializers.BooleanField(default=True)
    status = serializers.ChoiceField(choices=["new", "activated", "existing"])
    processing = serializers.BooleanField()
    data_ready = serializers.BooleanField()


class RunOutputSerializer(serializers.Serializer):
    """A queued `PipelineRun` (start)."""

    ok = serializers.BooleanField(default=True)
    queued = serializers.BooleanField(default=True)
    run_id = serializers.IntegerField(source="id")
    status = serializers.CharField()


class RunRestartOutputSerializer(RunOutputSerializer):
    """A queued `PipelineRun` of a restart (everything, or `from_step` and downstream)."""

    forced = serializers.BooleanField(default=True)
    from_step = serializers.SerializerMethodField()

    def get_from_step(self, run) -> str | None:
        return run.from_step or None


class GhostUserCreateOutputSerializer(serializers.Serializer):
    """A `GhostResult`."""

    ok = serializers.BooleanField(default=True)
    created = serializers.BooleanField()
    is_ghost = serializers.BooleanField(default=True)
    processing = serializers.BooleanField(default=True)
    run_id = serializers.IntegerField()


class UserDeleteOutputSerializer(serializers.Serializer):
    """A `DeleteResult`."""

    ok = serializers.BooleanField(default=True)
    deleted = serializers.CharField()
    runs = serializers.IntegerField()
    repos_linked = serializers.IntegerField()


class UserProgressOutputSerializer(serializers.Serializer):
    """`selectors.user_progress`."""

    ok = serializers.BooleanField(default=True)
    username = serializers.CharField()
    state = serializers.ChoiceField(choices=STATES)
    rate_limited_until = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    run = serializers.JSONField(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    items = serializers.ListField(child=serializers.JSONField())


class UserDataOutputSerializer(serializers.Serializer):
    """`selectors.user_data`."""

    ok = serializers.BooleanField(default=True)
    user = serializers.JSONField()
    theme = serializers.CharField(allow_blank=True)
    highlighted_repos = serializers.ListField(child=serializers.JSONField())
    repos = serializers.ListField(child=serializers.JSONField(), allow_null=True)
