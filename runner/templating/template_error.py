"""The error of a template that cannot be rendered or checked, without Jinja2."""

from __future__ import annotations


class TemplateError(Exception):
    """A template could not be rendered; `lineno` is relative to the template text."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno
