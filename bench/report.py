"""Sections of BENCHMARKS.md, one per benchmark, each rewritten in place.

    from bench.report import write_section
    write_section("gateway", "| scenario | req/s |\n|---|---:|\n| ... |")

Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` (appending
the block at the end when it is missing), so benchmarks never overwrite each other.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
_lock = threading.Lock()
#: Names written during this process (the runner uses it to spot silent benchmarks).
written: set[str] = set()

HEADER = """# Benchmarks

Measured in this repository, against the GitHub simulator (`ghsim/`), never the
internet. Run them all with `make bench` (or one: `make bench ARGS=gateway`); each
benchmark rewrites its own section below. Figures are from one machine and one run;
compare ratios measured in the same run rather than absolute numbers across machines.
"""


def _markers(name: str) -> tuple[str, str]:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"bad section name: {name!r}")
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(name: str, markdown: str, *, path: Path | None = None) -> Path:
    """Put `markdown` between the markers of section `name` in BENCHMARKS.md."""
    target = path or BENCHMARKS
    start, end = _markers(name)
    block = f"{start}\n{markdown.strip()}\n{end}"
    with _lock:
        text = target.read_text() if target.exists() else HEADER
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _m: block, text, count=1)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".benchmarks-")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, target)
        written.add(name)
    return target


def read_section(name: str, *, path: Path | None = None) -> str | None:
    target = path or BENCHMARKS
    if not target.exists():
        return None
    start, end = _markers(name)
    found = re.search(re.escape(start) + r"\n?(.*?)\n?" + re.escape(end), target.read_text(), re.S)
    return found.group(1) if found else None
