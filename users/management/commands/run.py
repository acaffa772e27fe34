"""Run a user's pipeline in the foreground (seed 000's `just run` / `run-selection`)."""

from __future__ import annotations

import time

from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from users import pipeline, selectors, services
from users.management.commands._base import UserCommand
from users.models import PipelineRun, WorkItem
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
            help=f"comma-separated steps, of: {', '.join(pipeline.ALL_STEPS)}",
        )

    def handle(self, *args, **options):
        select = [s.strip() for s in options["select"].split(",") if s.strip()]
        run = services.run_create_for_command(login=options["username"], select=select or None)
        bar = tqdm(desc=f"{options['username']}", unit="step", total=0)
        try:
            # Steps run in this process, so their LLM calls do too: no LLM worker needed.
            with inline_calls():
                self._drive(run.id, bar)
        except KeyboardInterrupt:
            PipelineRun.objects.filter(id=run.id).update(
                status=PipelineRun.Status.CANCELLED, finished_at=timezone.now()
            )
            raise CommandError("interrupted; the run is cancelled") from None
        finally:
            bar.close()
        run.refresh_from_db()
        user = services.user_get(login=options["username"])
        progress = selectors.user_progress(user=user)
        self.stdout.write(f"run {run.id}: {progress['state']}")
        for item in progress["items"]:
            where = f" {item['repo']}" if item["repo"] else ""
            line = f"  {item['step']}{where}: {item['status']}"
            if item["error"]:
                line += f" ({item['error'][:120]})"
            self.stdout.write(line)

    def _drive(self, run_id: int, bar: tqdm) -> None:
        idle = 0
        while True:
            ready = services.pipeline_advance(run_id=run_id, dispatch=False)
            run = PipelineRun.objects.get(id=run_id)
            items = services._relevant_items(run)
            done = sum(1 for i in items if i.status in services.TERMINAL)
            bar.total = len(items)
            bar.n = done
            bar.refresh()
            if run.status not in PipelineRun.ACTIVE_STATUSES:
                return
            if not ready:
                waits = [
                    i.not_before
                    for i in items
                    if i.status == WorkItem.Status.PENDING and i.not_before
                ]
                if waits:
                    # A foreground command may sleep; workers never do.
                    pause = max(1.0, (min(waits) - timezone.now()).total_seconds() + 1)
                    bar.set_postfix_str(f"rate limited until {min(waits):%H:%M:%S}")
                    time.sleep(min(pause, 60))
                    continue
                idle += 1
                if idle > 3:
                    raise CommandError("the run cannot make progress; see `progress`")
                # Dispatched earlier but not run: take them now.
                WorkItem.objects.filter(
                    id__in=[i.id for i in items if i.status == WorkItem.Status.PENDING]
                ).update(queued_at=None)
                continue
            idle = 0
            for item_id in ready:
                item = WorkItem.objects.get(id=item_id)
                where = f" {item.repo.full_name}" if item.repo_id else ""
                bar.set_postfix_str(f"{item.step}{where}")
                while True:
                    try:
                        services.work_item_run(item_id=item_id, advance=False)
                        break
                    except services.RetryLater as exc:
                        time.sleep(min(exc.countdown, 60))
                bar.update(1)
