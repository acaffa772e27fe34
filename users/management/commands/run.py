"""Run a user's pipeline, or a selection of its steps, in the foreground."""

from __future__ import annotations

from django.core.management.base import CommandError
from tqdm import tqdm

from users import engine, pipeline, selectors, services
from users.management.commands._base import UserCommand
from workers.llm import inline_calls

# Steps whose answer comes from the LLM (a heuristic stands in without a key).
LLM_STEPS = (
    "select_highlights",
    "repo_blurb",
    "repo_emphasis",
    "repo_keywords",
    "repo_kind",
    "user_theme",
)


def _llm_selection_check(select: list[str], *, allow_fallback: bool) -> None:
    """Rerunning an LLM step without a key would replace its answers with heuristics."""
    from django.conf import settings

    chosen = [step for step in select if step in LLM_STEPS]
    if chosen and not settings.LLM_API_KEY and not allow_fallback:
        raise CommandError(
            f"no LLM key in this environment: rerunning {', '.join(chosen)} would replace "
            "the LLM's answers with heuristic fallbacks. Set LLM_API_KEY (against the "
            'demo: make manage ARGS="run ..."), or pass --allow-fallback to do it anyway.'
        )


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
        parser.add_argument(
            "--allow-fallback",
            action="store_true",
            help="rerun LLM steps even without an LLM key (heuristic answers replace theirs)",
        )

    def handle(self, *args, **options):
        select = [s.strip() for s in options["select"].split(",") if s.strip()]
        _llm_selection_check(select, allow_fallback=options["allow_fallback"])
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
        if progress["state"] == "failed":
            raise CommandError(f"run {run.id} failed: {progress.get('message') or 'see above'}")
