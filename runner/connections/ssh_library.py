"""paramiko, loaded without invoke until an ssh_config `Match exec` needs it.

paramiko.config imports invoke (~50 ms, a third of paramiko's own import) only to run
`Match exec` commands of ~/.ssh/config. Every module here takes paramiko from this one,
which loads it with invoke held back; `enable_match_exec` hands invoke to paramiko before
an ssh_config is evaluated, so a `Match exec` line behaves as before.
"""

from __future__ import annotations

import importlib
import sys
from typing import cast


def _load_without_invoke() -> None:
    # None in sys.modules makes `import invoke` fail at once, as if it were not installed.
    modules = cast("dict[str, object]", sys.modules)
    if "paramiko" in modules or "invoke" in modules:
        return  # already loaded (by a caller of ours): nothing left to save
    modules["invoke"] = None
    try:
        importlib.import_module("paramiko")
    finally:
        if "invoke" in modules and modules["invoke"] is None:
            del modules["invoke"]


_load_without_invoke()

import paramiko as paramiko  # noqa: E402  (after the guarded load above, on purpose)
import paramiko.config  # noqa: E402


def enable_match_exec() -> None:
    """Give paramiko.config the invoke it skipped, as its own import would have."""
    module = paramiko.config
    if getattr(module, "invoke", None) is not None:
        return
    try:
        invoke = importlib.import_module("invoke")
    except ImportError as exc:  # as paramiko: `Match exec` then raises this, nothing else
        module.invoke_import_error = exc
        return
    module.invoke = invoke  # type: ignore[attr-defined]
    module.invoke_import_error = None
