"""The run's provenance as every report shows it: the same facts, in the same words.

Read from result.json's `provenance` block (runner/provenance.py writes it). A fact that could
not be established is shown with the reason it is missing, never left blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProvenanceItem:
    key: str  # stable, for junit property names: provenance.<key>
    label: str
    text: str


def _reason(value: Any, reason: Any) -> str:
    return str(value) if value is not None else f"unknown ({reason or 'not recorded'})"


def provenance_items(result: dict[str, Any]) -> list[ProvenanceItem]:
    """Label/text pairs; a result without provenance (older drillctl) says so in one item."""
    prov = result.get("provenance")
    if not isinstance(prov, dict):
        return [ProvenanceItem("missing", "Provenance", "not recorded by the drillctl that ran")]
    playbook = prov.get("playbook") or {}
    inventory = prov.get("inventory") or {}
    git = prov.get("git") or {}
    journal = prov.get("journal") or {}
    commit = git.get("commit")
    if commit is None:
        git_text = f"unknown ({git.get('reason') or 'not recorded'})"
    else:
        dirty = git.get("dirty")
        state = "dirty" if dirty is True else "clean" if dirty is False else "dirtiness unknown"
        if dirty is None and git.get("reason"):
            state += f": {git.get('reason')}"
        git_text = f"{commit} ({state})"
    inventory_sha = _reason(inventory.get("sha256"), inventory.get("reason"))
    approvers = prov.get("approvers") or []
    approved = (
        "; ".join(f"{a.get('by')} at {a.get('at')} (via {a.get('via')})" for a in approvers)
        or "none (no manual decision was approved)"
    )
    signature = journal.get("signature")
    signed = (
        f"signed ({signature.get('algorithm')}, key {signature.get('key_id')}, "
        f"{signature.get('file')})"
        if isinstance(signature, dict)
        else "not signed"
    )
    return [
        ProvenanceItem("drillctl_version", "drillctl", str(prov.get("drillctl_version"))),
        ProvenanceItem(
            "playbook", "Playbook", f"{playbook.get('path')} sha256 {playbook.get('sha256')}"
        ),
        ProvenanceItem(
            "inventory",
            "Inventory",
            f"{inventory.get('path') or 'implicit localhost'} sha256 {inventory_sha}",
        ),
        ProvenanceItem("git", "Playbook repository commit", git_text),
        ProvenanceItem("controller_host", "Controller host", str(prov.get("controller_host"))),
        ProvenanceItem("operator", "Operator", str(prov.get("operator"))),
        ProvenanceItem("approvers", "Approved by", approved),
        ProvenanceItem(
            "journal",
            "Journal",
            f"{journal.get('file')} head {journal.get('head')} ({journal.get('events')} events, "
            f"{signed}); check with `drillctl verify`",
        ),
    ]


def provenance_properties(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Flat name/value pairs for junit `<property>`s: one per fact, machine-readable."""
    prov = result.get("provenance")
    if not isinstance(prov, dict):
        return []
    playbook = prov.get("playbook") or {}
    inventory = prov.get("inventory") or {}
    git = prov.get("git") or {}
    journal = prov.get("journal") or {}
    signature = journal.get("signature") if isinstance(journal.get("signature"), dict) else {}
    pairs: list[tuple[str, Any]] = [
        ("drillctl_version", prov.get("drillctl_version")),
        ("playbook_path", playbook.get("path")),
        ("playbook_sha256", playbook.get("sha256")),
        ("inventory_sha256", inventory.get("sha256")),
        ("inventory_sha256_reason", inventory.get("reason")),
        ("git_commit", git.get("commit")),
        ("git_dirty", None if git.get("dirty") is None else str(git.get("dirty")).lower()),
        ("git_reason", git.get("reason")),
        ("controller_host", prov.get("controller_host")),
        ("operator", prov.get("operator")),
        ("journal_head", journal.get("head")),
        ("journal_events", journal.get("events")),
        ("journal_signature_key", (signature or {}).get("key_id")),
    ]
    for n, approval in enumerate(prov.get("approvers") or [], start=1):
        pairs.append((f"approver.{n}", f"{approval.get('by')} at {approval.get('at')}"))
    return [(f"provenance.{k}", str(v)) for k, v in pairs if v is not None]
