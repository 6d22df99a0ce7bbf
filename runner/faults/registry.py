"""Fault kinds by the name drill authors write (`kind: process.kill`)."""

from __future__ import annotations

from runner.faults.base import Fault
from runner.faults.custom import CustomFault

_KINDS: tuple[Fault, ...] = (CustomFault(),)

FAULTS: dict[str, Fault] = {f.kind: f for f in _KINDS}
