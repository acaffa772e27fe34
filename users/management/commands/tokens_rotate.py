"""Re-encrypt every stored account token under the current TOKEN_ENCRYPTION_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from users.models import GitHubUser
from users.tokens import token_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt stored GitHub tokens under TOKEN_ENCRYPTION_KEY (old keys listed in "
        "TOKEN_ENCRYPTION_KEYS_OLD still decrypt); run after rotating the key."
    )

    def handle(self, *args, **options):
        rotated = unreadable = 0
        with transaction.atomic():
            rows = (
                GitHubUser.objects.exclude(token_encrypted="")
                .order_by("pk")
                .select_for_update()
                .only("pk", "token_encrypted")
            )
            for user in rows:
                fresh = token_reencrypt(user.token_encrypted)
                if fresh is None:
                    unreadable += 1
                    continue
                GitHubUser.objects.filter(pk=user.pk).update(token_encrypted=fresh)
                rotated += 1
        self.stdout.write(f"rotated {rotated} token(s); {unreadable} under no configured key")
