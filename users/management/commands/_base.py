"""Shared bits of the users commands: JSON out, errors as a clean CommandError."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.errors import GazerError


class UserCommand(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def emit(self, payload: Any) -> None:
        self.stdout.write(json.dumps(payload, indent=2, default=str))

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except GazerError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
