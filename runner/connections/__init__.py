"""Connections to targets: one protocol (run, put, get, close), one class per kind."""

from runner.connections.base import CancelToken, CommandResult, CommandSpec, Connection

__all__ = ["CancelToken", "CommandResult", "CommandSpec", "Connection"]
