"""Network faults: partition, packet loss and delay, inside the target's network namespace.

Partition and loss are iptables rules tagged `-m comment --comment drillctl-<token>`: a
revert deletes exactly those, by spec, until none is left, and nothing an operator or
Docker added. Delay is a netem qdisc whose handle comes from the token.

Where the rules go: an SSH or local host runs the scripts itself (it needs root and
iptables/tc). Container images rarely carry iptables (busybox has none), so for a
container the controller runs its own tools inside the container's namespace (docker op
`netns_exec`; the engine must be on the controller). The namespace dies with the
container, so a revert after the container stopped or restarted has nothing left to do.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.connections.docker_targets import container_target
from runner.durations import DURATION_PATTERN, parse_duration
from runner.faults.base import DOCKER, SHELL, Fault, FaultArgError, FaultContext, FaultOp, FaultPlan
from runner.inventory.model import Host

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_RULES = 64
_CHAINS = {"in": ("INPUT",), "out": ("OUTPUT",), "both": ("INPUT", "OUTPUT")}
_BINARY = {4: "iptables", 6: "ip6tables"}
_PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp))?$")
_DURATION = {"type": ["string", "number"], "pattern": DURATION_PATTERN}
_SCOPE: dict[str, Any] = {
    "ports": {
        "type": "array",
        "minItems": 1,
        "items": {"type": ["integer", "string"], "pattern": _PORT.pattern},
        "description": "Ports whose packets are dropped, as source or destination port: "
        "`8080` (tcp) or `8080/udp`. With `peers`: only these ports of those peers.",
        "examples": [[8080], ["5432/tcp", "53/udp"]],
    },
    "peers": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string"},
        "description": "IPv4/IPv6 addresses or CIDRs whose packets are dropped (no host names: "
        "a name resolved again at revert time could miss the rule).",
        "examples": [["10.0.4.17", "10.0.8.0/24"]],
    },
    "direction": {
        "enum": list(_CHAINS),
        "default": "both",
        "description": "`in`: packets arriving at the target; `out`: packets leaving it.",
    },
    "ipv6": {
        "type": "boolean",
        "default": True,
        "description": "Without `peers`, also drop IPv6 packets (ip6tables). Set false on "
        "kernels without IPv6.",
    },
}
_DELETE_FN = """\
drillctl_delete() {  # every copy of one rule; "absent" is the goal, not an error
  bin=$1; shift
  command -v "$bin" >/dev/null 2>&1 || return 0  # no iptables here: none of our rules
  while :; do
    "$bin" -w -C "$@" 2>/dev/null
    case $? in
      0) "$bin" -w -D "$@" || return 1 ;;
      1) return 0 ;;
      *) "$bin" -w -C "$@"; return 1 ;;  # once more, to show why (not root, no module)
    esac
  done
}
status=0
"""
# Asks the kernel itself, in a throwaway network namespace: nothing on the target changes,
# and the namespace, qdisc included, vanishes when unshare exits.
_NETEM_PRECHECK = """\
command -v tc >/dev/null 2>&1 || { echo "tc (iproute2) is not installed" >&2; exit 1; }
out=$(unshare --net tc qdisc add dev lo root netem delay 1ms 2>&1) && exit 0
echo "adding a netem qdisc in a throwaway network namespace failed: $out" >&2
exit 1
"""


@dataclass(frozen=True)
class Rule:
    """One iptables rule of a fault, its comment and jump included."""

    binary: str
    chain: str
    spec: tuple[str, ...]

    def command(self, verb: str, *position: str) -> str:
        return shlex.join((self.binary, "-w", verb, self.chain, *position, *self.spec))


def _op(host: Host, script: str, *, gone_ok: bool = False) -> FaultOp:
    """The script as an op on the target: its own shell, or the container's namespace."""
    if host.connection != "docker":
        return FaultOp(SHELL, script)
    target = container_target(host)
    where = {"engine": target.engine_url, "container": target.ref, "label": target.label}
    return FaultOp(DOCKER, script, {"op": "netns_exec", **where, "gone_ok": gone_ok})


def _comment(token: str) -> str:
    return "drillctl-" + re.sub(r"[^A-Za-z0-9_.:-]", "-", token)[:200]


def _ports(kind: str, args: Mapping[str, Any]) -> list[tuple[int, str]]:
    ports: list[tuple[int, str]] = []
    for item in args.get("ports") or []:
        match = _PORT.match(str(item)) if not isinstance(item, bool) else None
        if match is None or not 1 <= int(match.group(1)) <= 65535:
            raise FaultArgError(f"{kind}: port {item!r} is not like 8080 or 8080/udp")
        ports.append((int(match.group(1)), match.group(2) or "tcp"))
    return ports


def _peers(kind: str, args: Mapping[str, Any]) -> list[_Net]:
    try:
        return [ipaddress.ip_network(str(p), strict=False) for p in args.get("peers") or []]
    except ValueError as exc:
        raise FaultArgError(f"{kind}: peers must be IP addresses or CIDRs: {exc}") from None


def _peer_matches(
    chain: str, peers: Sequence[_Net], versions: Sequence[int]
) -> list[tuple[int, tuple[str, ...]]]:
    flag = "-s" if chain == "INPUT" else "-d"
    return [(p.version, (flag, p.with_prefixlen)) for p in peers] or [(v, ()) for v in versions]


def _reject_unknown(kind: str, args: Mapping[str, Any], known: set[str]) -> None:
    unknown = set(args) - known - {"duration"}  # `duration` is every fault's, the engine's
    if unknown:
        raise FaultArgError(f"{kind} does not take {', '.join(sorted(unknown))}")


def netfilter_rules(
    kind: str, args: Mapping[str, Any], host: Host, token: str, extra: tuple[str, ...] = ()
) -> tuple[list[Rule], list[Rule]]:
    """The rules keeping drillctl's own SSH session alive, and the DROP rules."""
    _reject_unknown(kind, args, {*_SCOPE, "loss"})
    ports, peers = _ports(kind, args), _peers(kind, args)
    if not ports and not peers:
        # Dropping everything would also cut the controller off: no way to revert.
        raise FaultArgError(f"{kind} needs `ports`, `peers` or both")
    direction = args.get("direction", "both")
    if direction not in _CHAINS:
        raise FaultArgError(f"{kind}: direction must be in, out or both, got {direction!r}")
    tail = ("-m", "comment", "--comment", _comment(token))
    versions = sorted({p.version for p in peers}) or ([4, 6] if args.get("ipv6", True) else [4])
    ssh = host.port or 22
    if host.connection == "ssh" and (ssh, "tcp") in ports:
        raise FaultArgError(f"{kind}: port {ssh} carries drillctl's SSH session to {host.name}")
    # Dropping all of a peer's traffic could cut the SSH session the revert must travel
    # over (the controller may be that peer): an ACCEPT above the drops keeps its port open.
    exempt = [
        Rule(_BINARY[v], chain, ("-p", "tcp", side, str(ssh), *tail, "-j", "ACCEPT"))
        for v in versions
        for chain, side in (("INPUT", "--dport"), ("OUTPUT", "--sport"))
        if host.connection == "ssh" and not ports and chain in _CHAINS[direction]
    ]
    ports_spec: list[tuple[str, ...]] = [
        ("-p", proto, "-m", "multiport", "--ports", str(n)) for n, proto in ports
    ] or [()]
    drops = [
        Rule(_BINARY[version], chain, (*peer, *port, *extra, *tail, "-j", "DROP"))
        for chain in _CHAINS[direction]
        for version, peer in _peer_matches(chain, peers, versions)
        for port in ports_spec
    ]
    if len(drops) > MAX_RULES:
        raise FaultArgError(f"{kind}: {len(drops)} rules (ports, peers, chains); max {MAX_RULES}")
    return exempt, drops


def netfilter_plan(
    kind: str, summary: str, host: Host, token: str, rules: tuple[list[Rule], list[Rule]]
) -> FaultPlan:
    """Insert the rules on top of each chain; delete them one by one; check any remains."""
    exempt, drops = rules
    lines = ["set -e", *(r.command("-I", "1") for r in exempt)]
    for r in drops:
        # Below the exemptions of the same chain, above every rule that was there before.
        position = 1 + sum(1 for e in exempt if (e.binary, e.chain) == (r.binary, r.chain))
        lines.append(r.command("-I", str(position)))
    # Drops go first, so the SSH exemption outlives every DROP rule.
    revert = [
        f"drillctl_delete {shlex.join((r.binary, r.chain, *r.spec))} || status=1"
        for r in drops + exempt
    ]
    check = [f"{r.command('-C')} 2>/dev/null && exit 0" for r in drops + exempt]
    precheck = "set -e\n" + "".join(
        f'command -v {b} >/dev/null || {{ echo "{b} is not installed" >&2; exit 1; }}\n'
        f"{b} -w -S INPUT >/dev/null\n"
        for b in sorted({r.binary for r in drops})
    )
    comment = _comment(token)
    return FaultPlan(
        kind=kind,
        host=host.name,
        summary=f"{summary} ({len(drops)} iptables rules, comment {comment})",
        inject=(_op(host, "\n".join(lines)),),
        revert=(_op(host, _DELETE_FN + "\n".join(revert) + "\nexit $status", gone_ok=True),),
        check=_op(host, "\n".join([*check, "exit 1"])),
        manual=_manual_sweep(host, comment),
        precheck=_op(host, precheck),
        precheck_error="iptables cannot change the target's network namespace "
        "(it needs root, and iptables on the target or, for a container, on the controller)",
    )


def _manual_sweep(host: Host, comment: str) -> str:
    """A command that deletes every rule carrying the comment, for an operator."""
    sweep = (
        "for b in iptables ip6tables; do $b -S 2>/dev/null | grep -e "
        f"'--comment {comment} ' | sed \"s/^-A/$b -w -D/\" | sh; done"
    )
    if host.connection != "docker":
        return sweep
    target = container_target(host)
    pid = "{{.State.Pid}}"
    return (
        f"nsenter -t \"$(docker -H {shlex.quote(target.engine_url)} inspect -f '{pid}' "
        f'{shlex.quote(target.ref or "<container>")})" -n sh -c {shlex.quote(sweep)}'
    )


def _scope_text(args: Mapping[str, Any]) -> str:
    parts = [f"ports {', '.join(map(str, args['ports']))}" if args.get("ports") else ""]
    parts.append(f"peers {', '.join(map(str, args['peers']))}" if args.get("peers") else "")
    way = {"in": "arriving", "out": "leaving"}.get(args.get("direction", ""), "in and out")
    return " of ".join(p for p in parts if p) + f", {way}"


class NetworkPartition(Fault):
    kind = "network.partition"
    description = "Drop packets of given ports and/or peers on the target (iptables DROP)."
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "anyOf": [{"required": ["ports"]}, {"required": ["peers"]}],
        "properties": _SCOPE,
        "examples": [{"ports": [5432]}, {"peers": ["10.0.4.17"], "direction": "out"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        rules = netfilter_rules(self.kind, args, host, ctx.token)
        return netfilter_plan(self.kind, f"drop {_scope_text(args)}", host, ctx.token, rules)


class NetworkLoss(Fault):
    kind = "network.loss"
    description = "Drop a random share of the packets of given ports and/or peers (iptables)."
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["loss"],
        "anyOf": [{"required": ["ports"]}, {"required": ["peers"]}],
        "properties": {
            "loss": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 100,
                "description": "Share of packets dropped, in percent, in each direction "
                "(`percent` is the blast radius of every fault).",
                "examples": [10, 50],
            },
            **_SCOPE,
        },
        "examples": [{"loss": 20, "ports": [8080], "direction": "in"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        loss = args.get("loss")
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0 < loss <= 100:
            raise FaultArgError(f"{self.kind}: loss must be a percentage in (0, 100], got {loss!r}")
        probability = ("-m", "statistic", "--mode", "random", "--probability", f"{loss / 100:.6f}")
        rules = netfilter_rules(self.kind, args, host, ctx.token, probability)
        summary = f"lose {loss:g}% of packets of {_scope_text(args)}"
        return netfilter_plan(self.kind, summary, host, ctx.token, rules)


class NetworkDelay(Fault):
    kind = "network.delay"
    description = "Delay every packet leaving an interface (tc netem; needs sch_netem)."
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["delay"],
        "properties": {
            "delay": {**_DURATION, "description": "Added latency.", "examples": ["200ms"]},
            "jitter": {**_DURATION, "description": "Random variation (±).", "examples": ["50ms"]},
            "interface": {
                "type": "string",
                "default": "eth0",
                "pattern": r"^[A-Za-z0-9_.@-]{1,15}$",
                "description": "Interface whose outgoing packets are delayed.",
            },
        },
        "examples": [{"delay": "200ms", "jitter": "20ms"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        _reject_unknown(self.kind, args, set(self.schema["properties"]))
        try:
            delay = round(parse_duration(args.get("delay")) * 1e6)
            jitter = round(parse_duration(args.get("jitter", 0)) * 1e6)
        except ValueError as exc:
            raise FaultArgError(f"{self.kind}: {exc}") from None
        iface = str(args.get("interface", "eth0"))
        if not 0 < delay <= 60_000_000 or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,15}", iface):
            raise FaultArgError(f"{self.kind}: delay in (0, 60s] on an interface like eth0")
        # A handle of our own: the revert removes the root qdisc only while it is ours.
        handle = (
            f"{0x1000 + int(hashlib.sha256(ctx.token.encode()).hexdigest()[:8], 16) % 0xE000:x}"
        )
        dev = shlex.quote(iface)
        netem = f"netem delay {delay}us" + (f" {jitter}us" if jitter else "")
        ours = f"tc qdisc show dev {dev} 2>/dev/null | grep -q '^qdisc netem {handle}: root'"
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"delay packets leaving {iface} by {delay / 1000:g}ms (netem {handle}:)",
            inject=(_op(host, f"tc qdisc add dev {dev} root handle {handle}: {netem}"),),
            revert=(_op(host, f"if {ours}; then tc qdisc del dev {dev} root; fi", gone_ok=True),),
            check=_op(host, ours),
            manual=f"tc qdisc del dev {dev} root  # in the target's network namespace",
            precheck=_op(host, _NETEM_PRECHECK),
            precheck_error="the kernel has no netem qdisc (sch_netem), which network.delay "
            "needs: load it (modprobe sch_netem) or use network.loss / network.partition",
        )


NETWORK_FAULTS: tuple[Fault, ...] = (NetworkPartition(), NetworkLoss(), NetworkDelay())
