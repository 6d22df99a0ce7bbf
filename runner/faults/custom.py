"""`custom`: a fault the author writes as shell: inject, revert (required) and check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.faults.base import SHELL, Fault, FaultArgError, FaultContext, FaultOp, FaultPlan
from runner.inventory.model import Host


class CustomFault(Fault):
    kind = "custom"
    description = "Inject and revert with your own shell commands (FAULT_ID names this instance)."
    schema = {
        "type": "object",
        "required": ["inject", "revert"],
        "properties": {
            "inject": {"type": "string", "description": "Shell that injects the fault."},
            "revert": {
                "type": "string",
                "description": "Shell that undoes it; must be idempotent.",
            },
            "check": {
                "type": "string",
                "description": "Shell that exits 0 while the fault is in effect.",
            },
            "name": {"type": "string", "description": "What the fault does, for the report."},
        },
        "examples": [
            {
                "name": "block the feed port",
                "inject": "iptables -I INPUT -p tcp --dport 9000 -j DROP",
                "revert": "while iptables -D INPUT -p tcp --dport 9000 -j DROP; do :; done; true",
                "check": "iptables -C INPUT -p tcp --dport 9000 -j DROP",
            }
        ],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        for key in ("inject", "revert"):
            if not str(args.get(key, "")).strip():
                raise FaultArgError(f"custom fault needs `{key}`: no fault without a way back")
        prefix = f"FAULT_ID={ctx.token}; export FAULT_ID; "
        check = args.get("check")
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=str(args.get("name") or f"custom fault: {args['inject']}"),
            inject=(FaultOp(SHELL, prefix + str(args["inject"])),),
            revert=(FaultOp(SHELL, prefix + str(args["revert"])),),
            check=FaultOp(SHELL, prefix + str(check)) if check else None,
            manual=str(args["revert"]).replace("$FAULT_ID", ctx.token),
        )
