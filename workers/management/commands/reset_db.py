from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Drop every table of Gazer's database and migrate again (asks unless --yes)."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        name = connection.settings_dict["NAME"]
        if not options["yes"]:
            answer = input(f"Drop all data in database {name!r}? Type the name to confirm: ")
            if answer.strip() != name:
                raise CommandError("aborted: nothing was changed")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        self.stdout.write(f"dropped all tables of {name}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_periodic_tasks")
        self.stdout.write(self.style.SUCCESS(f"{name} is empty and migrated"))
