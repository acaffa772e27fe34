"""`python -m bench [name ...]`: run every `bench/bench_*.py` exposing `main()`.

Names may be given as `ghsim`, `bench_ghsim` or `bench/bench_ghsim.py`. Each module
runs with its own argv (`[path]`), so its argparse defaults apply. Exit status is
non-zero when any benchmark fails or reports failure.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402


def discover() -> list[str]:
    return sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))


def normalise(name: str) -> str:
    name = Path(name).stem if name.endswith(".py") else name
    return name[len("bench_") :] if name.startswith("bench_") else name


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def section_from_output(name: str, output: str, seconds: float, about: str = "") -> str | None:
    """The Markdown table a silent benchmark printed, with how to reproduce it."""
    table = [line for line in output.splitlines() if line.startswith("|")]
    if not table:
        return None
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"## {name}",
            "",
            *([about, ""] if about else []),
            f"`.venv/bin/python bench/bench_{name}.py` (or `make bench ARGS={name}`); "
            f"{when}, {machine()}, {seconds:.0f} s.",
            "",
            *table,
        ]
    )


def run_one(name: str) -> bool:
    module_name = f"bench.bench_{name}"
    print(f"== bench {name}", flush=True)
    before = set(report.written)
    buffer = io.StringIO()
    saved_argv = sys.argv
    sys.argv = [str(HERE / f"bench_{name}.py")]
    started = time.monotonic()
    try:
        module = importlib.import_module(module_name)
        main = getattr(module, "main", None)
        if main is None:
            print(f"   {module_name} has no main(); skipped")
            return True
        with contextlib.redirect_stdout(_Tee(sys.stdout, buffer)):
            result = main()
    except SystemExit as exc:
        result = exc.code
    except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc()
        return False
    finally:
        sys.argv = saved_argv
    seconds = time.monotonic() - started
    ok = result in (None, 0, True)
    if ok and not (report.written - before):  # the benchmark wrote no section itself
        about = ((module.__doc__ or "").strip().splitlines() or [""])[0]
        markdown = section_from_output(name, buffer.getvalue(), seconds, about)
        if markdown:
            report.write_section(name, markdown)
            print(f"   wrote section {name!r} of {report.BENCHMARKS.name}")
    print(f"== bench {name}: {'ok' if ok else 'FAILED'} in {seconds:.0f} s", flush=True)
    return ok


def main(argv: list[str]) -> int:
    available = discover()
    names = [normalise(a) for a in argv] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed = [name for name in names if not run_one(name)]
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
