"""Plugins that drillctl hands to `ansible-playbook` (loaded by Ansible, not imported here)."""
