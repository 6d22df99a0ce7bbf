"""Secret values: registered once, replaced by ******** wherever output leaves the program."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

MASK = "********"


class SecretMask:
    """The set of secret strings of one run, and the function that hides them."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: object) -> None:
        text = "" if value is None else str(value)
        if not text or text == MASK:
            return
        with self._lock:
            if text in self._values:
                return
            self._values.add(text)
            # Longest first, so a secret containing another is hidden whole.
            self._ordered = sorted(self._values, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._values)

    def mask(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def mask_value(self, value: Any) -> Any:
        """Mask strings inside any JSON-like value."""
        if not self._ordered:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask(str(k)): self.mask_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.mask_value(v) for v in value]
        return value
