"""`manage.py linguist [--repo-languages Python,C] PATH... | -`: how each path counts;
`manage.py linguist --data-version`: which Linguist release the data is from."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from activity.linguist import Classifier, data_version


class Command(BaseCommand):
    help = (
        "Classify file paths as GitHub Linguist does (language, type, vendored, "
        "documentation, generated, counted): one JSON object per path, in input order. "
        "'-' reads paths from stdin, one per line. The data is GitHub Linguist's; "
        "--data-version prints which release."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH", help="paths, or - for stdin")
        parser.add_argument(
            "--data-version",
            action="store_true",
            help="print the Linguist release the data is from (JSON) and exit",
        )
        parser.add_argument(
            "--repo-languages",
            default="",
            help="the repository's languages (GitHub's /languages names, most bytes first), "
            "comma-separated: they resolve ambiguous extensions such as .h or .rs",
        )

    def handle(self, *args, **options):
        if options["data_version"]:
            self.stdout.write(json.dumps(data_version(), ensure_ascii=False))
            return
        names = [n.strip() for n in options["repo_languages"].split(",") if n.strip()]
        classifier = Classifier(names)
        paths: list[str] = []
        for arg in options["paths"]:
            if arg == "-":
                paths.extend(line.rstrip("\r\n") for line in sys.stdin if line.strip())
            else:
                paths.append(arg)
        if not paths:
            raise CommandError("no paths given")
        out = self.stdout
        lines = []
        for path in paths:
            lines.append(json.dumps(classifier.classify(path).as_dict(), ensure_ascii=False))
            if len(lines) >= 2000:
                out.write("\n".join(lines))
                lines = []
        if lines:
            out.write("\n".join(lines))
