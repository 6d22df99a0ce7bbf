"""Inventories: YAML and INI files, group_vars/host_vars, and Ansible host patterns."""

from runner.inventory.loader import implicit_localhost, load_inventory
from runner.inventory.model import Group, Host, Inventory
from runner.inventory.patterns import PatternError

__all__ = ["Group", "Host", "Inventory", "PatternError", "implicit_localhost", "load_inventory"]
