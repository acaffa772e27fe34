"""Run a user's pipeline in the foreground (seed 000's `just run` / `run-selection`)."""

from __future__ import annotations

from django.core.management.base import CommandError
from tqdm import tqdm

from users import engine, pipeline, selectors, services
from users.management.commands._base import UserCommand
from workers.llm import inline_calls


class Command(UserCommand):
    help = (
        "Run a user's pipeline in this process with a progress bar. --select reruns just "
        "those steps (their prerequisites are taken as they are)."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--select",
            default="",
            help=f"comma-separated steps, of: {', '.join(pipeline.steps_all())}",
        )

    def handle(self, *args, **options):
        select = [s.strip() for s in options["select"].split(",") if s.strip()]
        run = services.run_create_for_command(login=options["username"], select=select or None)
        bar = tqdm(desc=f"{options['username']}", unit="step", total=0)

        def on_progress(done: int, total: int, note: str) -> None:
            bar.total, bar.n = total, done
            if note:
                bar.set_postfix_str(note)
            bar.refresh()

        try:
            # Steps run in this process, so their LLM calls do too: no LLM worker needed.
            with inline_calls():
                engine.run_drive(run_id=run.id, on_progress=on_progress)
        except KeyboardInterrupt:
            engine.run_cancel(run_id=run.id)
            raise CommandError("interrupted; the run is cancelled") from None
        except engine.RunStuck as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        user = selectors.user_get(login=options["username"])
        progress = selectors.user_progress(user=user)
        self.stdout.write(f"run {run.id}: {progress['state']}")
        for item in progress["items"]:
            where = f" {item['repo']}" if item["repo"] else ""
            line = f"  {item['step']}{where}: {item['status']}"
            if item["error"]:
                line += f" ({item['error'][:120]})"
            self.stdout.write(line)
