"""Dates written by people → ISO dates: a translation-like task for encoder–decoder models.

Sources such as "the 23rd of november 2026", "nov 23, 2026", "23 november 26" or
"monday, november 23, 2026" map to targets "2026-11-23". Characters are the tokens.
"""

from __future__ import annotations

import datetime

from tinygrad_rnn import backend
from tinygrad_rnn.tasks.slots import MONTHS, ordinal

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORMATS = (
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year % 100:02d}",
    lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year}",
)


def date_pairs(n: int, seed: int = 0, first_year: int = 1950, last_year: int = 2049):
    """``n`` (source, target) string pairs, e.g. ("the 2nd of may 1987", "1987-05-02")."""
    rng = backend.host_random(seed)
    start = datetime.date(first_year, 1, 1).toordinal()
    stop = datetime.date(last_year, 12, 31).toordinal()
    pairs = []
    for _ in range(n):
        d = datetime.date.fromordinal(int(rng.integers(start, stop + 1)))
        fmt = FORMATS[int(rng.integers(len(FORMATS)))]
        pairs.append((fmt(d), d.isoformat()))
    return pairs
