"""`manage.py for_you <viewer> [--rebuild] [--limit N]`: the viewer's feed as a table."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from config.errors import GazerError
from feed import services
from workers.llm import inline_calls


class Command(BaseCommand):
    help = (
        "Print a viewer's For You feed (repo, author, score, reasons) as GET would rank it, "
        "without recording exposures. --rebuild rebuilds it first, in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument("viewer")
        parser.add_argument("--rebuild", action="store_true", help="rebuild first (LLM inline)")
        parser.add_argument("--limit", default="30", help="1-100, default 30")

    def handle(self, *args, **options):
        try:
            limit = services.limit_parse(str(options["limit"]))
            viewer = services.viewer_resolve(options["viewer"])
            if options["rebuild"]:
                services.feed_rebuild_request(viewer=viewer, trigger="command")
                with inline_calls():
                    stats = services.feed_rebuild_run(viewer_id=viewer.pk)
                if stats is None:
                    self.stderr.write("another rebuild is running; showing the current feed")
                else:
                    self.stdout.write(
                        "rebuilt: {candidates} candidates, {judged} judged, {cached} cached, "
                        "{llm_calls} LLM calls, {fallback_batches} batches fell back".format(
                            **stats
                        )
                    )
            items = services.feed_items_peek(viewer=viewer, limit=limit)
        except GazerError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        rows = [
            (item["full_name"], item["username"] + (" (ghost)" if item["is_ghost"] else ""),
             f"{item['score']:.3f}", ", ".join(item["reasons"]) or "-")
            for item in items
        ]  # fmt: skip
        header = ("repo", "author", "score", "reasons")
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if not rows:
            self.stdout.write("(no candidates)")
