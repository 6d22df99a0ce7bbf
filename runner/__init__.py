"""drillctl: declarative rollback and chaos drills that measure recovery."""

__version__ = "0.1.0"
