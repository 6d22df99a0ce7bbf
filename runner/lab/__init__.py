"""lab: the embedded service quick-start drills deploy, break and roll back.

`service` is the HTTP app itself (stdlib only, runnable on its own); `control` starts it
detached, stops it and reports on it from a state directory. Their command line is
`drillctl lab` (`python -m runner lab`), declared in runner.cli.lab.
"""

from runner.lab.control import LabError, ServiceInfo, start, status, stop

__all__ = ["LabError", "ServiceInfo", "start", "status", "stop"]
