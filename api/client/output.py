"""How the commands show things: tables and summaries on stdout, progress on stderr, and one
JSON document instead of both under `--json`.

Progress goes to stderr so that stdout stays the result a script may read; on a terminal it
is a bar redrawn in place, elsewhere (a log, a pipe) a plain line now and then, with no
control characters.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

BAR_WIDTH = 28
LINE_EVERY_SECONDS = 2.0  # how often a plain progress line is written when nothing ends


def print_json(document: Any, stream: TextIO | None = None) -> None:
    """The one JSON document a `--json` run prints."""
    out = stream or sys.stdout
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, without trailing spaces."""
    widths = [max([len(head), *(len(row[i]) for row in rows)]) for i, head in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def human_bytes(count: float | None) -> str:
    """Sizes as people read them: 1.5 GiB, 340 KiB; '-' when unknown."""
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_seconds(seconds: float | None) -> str:
    """A duration as h:mm:ss or m:ss; '?' while unknown."""
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Shows a job's progress as it is polled: items, bytes, speed and time left."""

    def __init__(self, label: str, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.quiet = quiet  # --json: stdout holds the document, stderr only problems
        self.on_terminal = self.stream.isatty()
        self._started = time.monotonic()
        self._first_bytes: int | None = None
        self._last_line: tuple[str, int] | None = None
        self._last_line_at = 0.0
        self._drawn = False

    def update(self, job: dict[str, Any]) -> None:
        """Show the job as it is now (a snapshot of the `job` query)."""
        if self.quiet:
            return
        done, total = int(job["done"]), int(job["total"])
        bytes_done, bytes_total = int(job.get("bytesDone") or 0), int(job.get("bytesTotal") or 0)
        if self._first_bytes is None:
            self._first_bytes = bytes_done
        elapsed = time.monotonic() - self._started
        speed = (bytes_done - self._first_bytes) / elapsed if elapsed > 0.5 else None
        parts = [f"{done}/{total} items"]
        if bytes_total:
            parts.append(f"{human_bytes(bytes_done)} of {human_bytes(bytes_total)}")
        if speed is not None and bytes_total:
            parts.append(f"{human_bytes(speed)}/s")
        if job["state"] == "RUNNING":
            if job.get("secondsLeft") is not None:  # the server's estimate, once it has one
                parts.append(f"{human_seconds(job['secondsLeft'])} left")
        else:
            parts.append(job["state"].lower())
        text = ", ".join(parts)
        if self.on_terminal:
            # By bytes when sizes are known: one big file is most of an import's time.
            if bytes_total:
                fraction = min(1.0, bytes_done / bytes_total)
            else:
                fraction = done / total if total else 0.0
            filled = round(BAR_WIDTH * fraction)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r\x1b[2K{self.label} [{bar}] {fraction:4.0%} {text}")
            self._drawn = True
        else:
            # A line when the state or the count changes, or now and then while bytes move.
            key = (job["state"], done)
            now = time.monotonic()
            if key != self._last_line or now - self._last_line_at >= LINE_EVERY_SECONDS:
                self.stream.write(f"{self.label}: {text}\n")
                self._last_line, self._last_line_at = key, now
        self.stream.flush()

    def finish(self) -> None:
        """Leave the bar's line, so that what follows starts on its own."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def say(self, message: str) -> None:
        """A line among the progress (a question answered, a pause asked for)."""
        self.finish()
        if not self.quiet:
            self.stream.write(message + "\n")
            self.stream.flush()
