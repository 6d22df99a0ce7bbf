"""User-facing errors and the exit codes they map to (README, "Exit codes")."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    FAILED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about an input file, located to the character."""

    path: str
    line: int
    col: int
    message: str
    rule: str = ""
    severity: str = field(default="error", compare=False)

    def __str__(self) -> str:
        rule = f"{self.rule} " if self.rule else ""
        return f"{self.path}:{self.line}:{self.col}: {rule}{self.message}"

    def as_warning(self) -> str:
        """The line that tells of a finding that does not stop the command."""
        return f"{self.path}:{self.line}:{self.col}: warning: {self.message}"


class InputError(Exception):
    """Bad input (YAML, inventory, CLI value, template): exit 2, nothing touched."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @classmethod
    def at(cls, path: str, line: int, col: int, message: str) -> InputError:
        return cls([Diagnostic(path, line, col, message)])


class TargetEnvironmentError(Exception):
    """The environment let us down (unreachable target, missing engine): exit 3."""
