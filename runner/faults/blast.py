"""Blast radius: which of a step's hosts a fault hits (`count`, `percent`, `random` + `seed`)."""

from __future__ import annotations

import math
import random as _random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def select_targets(hosts: Sequence[T], args: Mapping[str, Any]) -> tuple[list[T], int | None]:
    """The hosts to hit, and the seed used when chosen at random (recorded for repeats)."""
    n = len(hosts)
    if "count" in args:
        size = min(n, int(args["count"]))
    elif "percent" in args:
        size = min(n, max(1, math.floor(n * float(args["percent"]) / 100)))
    else:
        size = n
    if not args.get("random"):
        return list(hosts[:size]), None
    seed = int(args["seed"]) if "seed" in args else _random.SystemRandom().randrange(2**31)
    chosen = sorted(_random.Random(seed).sample(range(n), size))
    return [hosts[i] for i in chosen], seed
