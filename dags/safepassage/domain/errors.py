"""Errors about bad input that name where the problem is (file, line, field)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_PROBLEMS_SHOWN = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located as precisely as the input allows."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InvalidInput(ValueError):
    """Raised with every problem found, so one run shows them all; nothing downstream runs."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} found:"
        # A generated or pasted file can hold thousands of the same mistake: show enough to fix it.
        shown = [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        if count > MAX_PROBLEMS_SHOWN:
            shown.append(f"  … and {count - MAX_PROBLEMS_SHOWN} more")
        return "\n".join([header, *shown])


def field_path(loc: Iterable[str | int]) -> str:
    """('countries', 3, 'currency') -> 'countries[3].currency'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
