"""Output serializers shared by a view and a command (the same body on both)."""

from __future__ import annotations

from rest_framework import serializers


class UserLoginOutputSerializer(serializers.Serializer):
    """A `LoginResult` as `POST /users/<u>/login` and `manage.py login` answer it."""

    ok = serializers.BooleanField(default=True)
    status = serializers.ChoiceField(choices=["new", "activated", "existing"])
    processing = serializers.BooleanField()
    data_ready = serializers.BooleanField()
