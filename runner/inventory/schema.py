"""JSON Schema (draft 2020-12) of a YAML inventory, in Ansible's layout.

Connection variables are described here for editors and docs; their values are checked
in `connection_fields`, because they may also come from INI files and vars files.
"""

from __future__ import annotations

from typing import Any

_CONNECTION_VARS: dict[str, Any] = {
    "address": {
        "description": "Host name or IP address to connect to (or the container, for docker). "
        "Defaults to the inventory host name. Wins over ansible_host."
    },
    "port": {
        "description": "TCP port for ssh, 1-65535. Defaults to the ssh default (22). "
        "Wins over ansible_port."
    },
    "user": {"description": "Remote user for ssh. Wins over ansible_user."},
    "connection": {
        "description": "How to reach the host: 'local', 'ssh' (also 'paramiko', 'smart') or "
        "'docker' (also 'community.docker.docker'). Defaults to 'ssh', or 'local' for an "
        "address-less host named localhost. Wins over ansible_connection."
    },
    "ansible_host": {"description": "Ansible's name for `address`."},
    "ansible_port": {"description": "Ansible's name for `port`."},
    "ansible_user": {"description": "Ansible's name for `user`."},
    "ansible_connection": {"description": "Ansible's name for `connection`."},
    "ansible_ssh_host": {"description": "Older Ansible name for `address`."},
    "ansible_ssh_port": {"description": "Older Ansible name for `port`."},
    "ansible_ssh_user": {"description": "Older Ansible name for `user`."},
    "drillctl_state_dir": {
        "description": "Directory on the host under which `config` and `migrate` keep a run's "
        "snapshots and backups (in <dir>/<run_id>/<host>/, mode 0700), never beside the files "
        "they protect; removed when the run no longer needs them. Default /var/tmp/drillctl."
    },
    "environment": {
        "description": "On group `all`: the environment this inventory describes "
        "(staging, production, ...); recorded in every drill result. On any group or host: "
        "a production name there (`production`, `prod`, any case or spacing, or one of "
        "`production_names`) makes a drill or exec touching those hosts need "
        "--allow-production and --change-id."
    },
    "production_names": {
        "description": "On group `all`: further names of production environments (a list, or "
        "a comma-separated string), beside `production`, `prod` and $DRILLCTL_PRODUCTION_NAMES."
    },
}

INVENTORY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "drillctl inventory",
    "description": "Hosts and groups in Ansible's YAML inventory layout: top-level keys are "
    "groups (usually just `all`), each with `hosts`, `children` and `vars`.",
    "type": "object",
    "properties": {
        "all": {
            "$ref": "#/$defs/group",
            "description": "The group every host belongs to; its vars apply to every host.",
        },
        "ungrouped": {
            "$ref": "#/$defs/group",
            "description": "Hosts that belong to no other group.",
        },
    },
    "additionalProperties": {
        "$ref": "#/$defs/group",
        "description": "A group, beside `all` (it becomes a child of `all`).",
    },
    "$defs": {
        "group": {
            "description": "A group: its own hosts, its child groups and its variables.",
            "type": ["object", "null"],
            "x-unknown-key-label": "group key",
            "properties": {
                "hosts": {
                    "description": "Hosts in this group, by name (ranges like web[01:03] and "
                    "name:port allowed), each with its own variables or nothing.",
                    "type": ["object", "null"],
                    "additionalProperties": {"$ref": "#/$defs/vars"},
                },
                "children": {
                    "description": "Child groups, by name; a host in a child group is in "
                    "this group too, and the child's vars win over this group's.",
                    "type": ["object", "null"],
                    "additionalProperties": {"$ref": "#/$defs/group"},
                },
                "vars": {
                    "$ref": "#/$defs/vars",
                    "description": "Variables for every host in this group.",
                },
            },
            "additionalProperties": False,
        },
        "vars": {
            "description": "Variables by name. Connection variables are listed; any other "
            "name is free for playbooks to use. A name one keystroke from a connection "
            "variable or `environment` that is not set (`conection`, `prot`, `enviroment`) is "
            "free too, but `run`, `plan`, "
            "`exec` and `lint -i` warn of it on the hosts they touch.",
            "type": ["object", "null"],
            "properties": _CONNECTION_VARS,
            "additionalProperties": True,
        },
    },
}
