"""Fault kinds by the name drill authors write (`kind: process.kill`)."""

from __future__ import annotations

from runner.faults.base import Fault
from runner.faults.container import CONTAINER_FAULTS
from runner.faults.custom import CustomFault
from runner.faults.network import NETWORK_FAULTS

_KINDS: tuple[Fault, ...] = (CustomFault(), *CONTAINER_FAULTS, *NETWORK_FAULTS)

FAULTS: dict[str, Fault] = {f.kind: f for f in _KINDS}
