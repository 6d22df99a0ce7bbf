"""Calendar quarters (`2026Q4`), the unit of drill plans and quarterly reports.

Quarters are taken in UTC, like every timestamp in `result.json`, so a run belongs to the
same quarter whichever time zone the report is made in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`2026Q4` → Quarter(2026, 4); ValueError with the expected form otherwise."""
        match = _QUARTER.match(text.strip())
        if not match:
            raise ValueError(f"expected a quarter like 2026Q4, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def of_timestamp(cls, iso: str | None) -> Quarter | None:
        """The UTC quarter of an ISO 8601 timestamp (`…Z`), or None when it does not parse."""
        when = parse_timestamp(iso)
        return None if when is None else cls.of(when.date())

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        following = self.next()
        return date.fromordinal(following.first_day.toordinal() - 1)

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def parse_timestamp(iso: str | None) -> datetime | None:
    """A result.json timestamp as an aware UTC datetime, or None."""
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
