"""Fault kinds by the name drill authors write (`kind: process.kill`)."""

from __future__ import annotations

from runner.faults.base import Fault
from runner.faults.container import CONTAINER_FAULTS
from runner.faults.custom import CustomFault
from runner.faults.files import FILE_FAULTS
from runner.faults.network import NETWORK_FAULTS
from runner.faults.process import PROCESS_FAULTS
from runner.faults.resources import RESOURCE_FAULTS
from runner.faults.service import SERVICE_FAULTS

_KINDS: tuple[Fault, ...] = (
    CustomFault(),
    *PROCESS_FAULTS,
    *SERVICE_FAULTS,
    *CONTAINER_FAULTS,
    *NETWORK_FAULTS,
    *RESOURCE_FAULTS,
    *FILE_FAULTS,
)

FAULTS: dict[str, Fault] = {f.kind: f for f in _KINDS}
