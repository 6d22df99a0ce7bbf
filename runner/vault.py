"""Ansible Vault: encrypted values in inventories, vars files and playbooks.

Decryption is ansible-core's own (`ansible.parsing.vault`), imported only when a value is
opened, so drillctl needs ansible-core (the `ansible` extra) only for drills that use a vault.
An inline `!vault` value stays sealed until a targeted host needs it: a value the drill never
uses breaks nothing, even without a password. Every opened value is a secret: the run's
SecretMask hides it in every output.

The password comes from the command line (`--vault-password-file`, `--ask-vault-pass`) and
holds for the whole process, as in Ansible.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from runner.errors import Diagnostic, InputError, TargetEnvironmentError

VAULT_HEADER = "$ANSIBLE_VAULT"
PASSWORD_OPTION = "--vault-password-file"
# An executable password file is a script that prints the password (as in Ansible).
PASSWORD_SCRIPT_TIMEOUT_S = 30.0


class _Mask(Protocol):
    def add(self, value: object) -> None: ...


class VaultLocked(InputError):
    """A sealed value was used as text: no password, or one that does not open it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__([Diagnostic(*_split(where), message)])


@dataclass(frozen=True)
class VaultValue:
    """An inline `!vault` value: its ciphertext and where it was written."""

    ciphertext: str
    path: str
    line: int
    col: int
    # Why opening it failed (a wrong password): reported when the value is used, not before.
    failure: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def __str__(self) -> str:
        # Used as text while still sealed: an error, never the ciphertext or a stand-in that a
        # command would then receive as if it were the value.
        raise VaultLocked(
            self.where,
            self.failure
            or "this value is encrypted with Ansible Vault: "
            f"give the vault password with {PASSWORD_OPTION} FILE or --ask-vault-pass",
        )

    def __repr__(self) -> str:
        return f"VaultValue({self.where})"

    def as_json(self) -> dict[str, str]:
        """As `ansible-inventory --list` shows a vault value."""
        return {"__ansible_vault": self.ciphertext}


@dataclass(frozen=True)
class OpenedVault:
    """A variable from a vault-encrypted vars file: decrypted at load, secret everywhere."""

    value: Any
    path: str

    def __str__(self) -> str:
        raise VaultLocked(
            f"{self.path}:1:1",
            "variables of a vault-encrypted file are opened only as the variables of the "
            "hosts they apply to",
        )

    def __repr__(self) -> str:  # never the plaintext
        return f"OpenedVault({self.path})"


class _Keyring:
    """The vault password of this process and ansible-core's VaultLib built from it."""

    def __init__(self, password: bytes, source: str) -> None:
        self.source = source
        self.password = password
        self._lib: Any = None
        self._lock = threading.Lock()

    def decrypt(self, ciphertext: str, where: str) -> str:
        lib = self._vault_lib()
        try:
            plain = lib.decrypt(ciphertext.encode("utf-8"))
        except Exception as exc:  # ansible-core's AnsibleError family: the input is bad
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError.at(
                *_split(where),
                f"cannot decrypt this Ansible Vault value with the password from "
                f"{self.source} (wrong password?): {reason}",
            ) from None
        try:
            return bytes(plain).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError.at(
                *_split(where), "the decrypted Ansible Vault value is not UTF-8 text"
            ) from None

    def _vault_lib(self) -> Any:
        with self._lock:
            if self._lib is None:
                try:
                    from ansible.parsing.vault import VaultLib, VaultSecret
                except ImportError:
                    raise TargetEnvironmentError(
                        "Ansible Vault values need ansible-core: "
                        "pip install 'drillctl[ansible]' (or ansible-core)"
                    ) from None
                self._lib = VaultLib([("default", VaultSecret(self.password))])
            return self._lib


_keyring: _Keyring | None = None


def unlock(password: bytes, source: str) -> None:
    """Use `password` (from `source`, for messages) for every vault value of this process."""
    global _keyring
    _keyring = _Keyring(password, source)


def lock() -> None:
    """Forget the password (tests)."""
    global _keyring
    _keyring = None


def unlocked() -> bool:
    return _keyring is not None


def password() -> bytes | None:
    """The vault password of this process, for an `ansible-playbook` run handed the same
    vault (its playbook's own group_vars may be encrypted too)."""
    return None if _keyring is None else _keyring.password


def read_password_file(path: str) -> bytes:
    """The password in FILE (trailing newline stripped), or what FILE prints if executable."""
    file = Path(path)
    where = f"{PASSWORD_OPTION} {path}"
    if not file.is_file():
        raise InputError.at(path, 1, 1, f"{where}: file not found")
    if os.access(file, os.X_OK):
        try:
            done = subprocess.run(
                [str(file.resolve())],
                capture_output=True,
                timeout=PASSWORD_SCRIPT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InputError.at(
                path, 1, 1, f"{where}: no password after {PASSWORD_SCRIPT_TIMEOUT_S:g}s"
            ) from None
        except OSError as exc:
            raise InputError.at(path, 1, 1, f"{where}: cannot run the script: {exc}") from None
        if done.returncode != 0:
            raise InputError.at(
                path, 1, 1, f"{where}: the script exited with code {done.returncode}"
            )
        password = done.stdout.strip()
    else:
        try:
            password = file.read_bytes().strip()
        except OSError as exc:
            raise InputError.at(path, 1, 1, f"{where}: cannot read: {exc}") from None
    if not password:
        raise InputError.at(path, 1, 1, f"{where}: the password is empty")
    return password


def unlock_from_options(password_file: str | None, ask: bool) -> None:
    """Apply `--vault-password-file` / `--ask-vault-pass` (neither: values stay sealed)."""
    if password_file and ask:
        raise InputError.at(
            "<command line>", 1, 1, f"give {PASSWORD_OPTION} or --ask-vault-pass, not both"
        )
    if password_file:
        unlock(read_password_file(password_file), password_file)
    elif ask:
        try:
            typed = getpass.getpass("Vault password: ")
        except EOFError:
            typed = ""
        if not typed:
            raise InputError.at("<command line>", 1, 1, "--ask-vault-pass: no password typed")
        unlock(typed.encode("utf-8"), "--ask-vault-pass")


def decrypt_file_text(text: str, path: str) -> str:
    """The plaintext of a vault-encrypted file; a located error without a password."""
    if _keyring is None:
        raise InputError.at(
            path,
            1,
            1,
            f"this vars file is encrypted with Ansible Vault: "
            f"give the vault password with {PASSWORD_OPTION} FILE or --ask-vault-pass",
        )
    return _keyring.decrypt(text, f"{path}:1:1")


def is_vault_text(text: str) -> bool:
    return text.lstrip().startswith(VAULT_HEADER)


def reveal(value: Any, mask: _Mask) -> Any:
    """`value` with every vault value in it opened and registered as a secret in `mask`.

    Without a password, or with one that does not open it, an inline value stays sealed:
    using it as text is then bad input naming the value's place and what went wrong.
    """
    if isinstance(value, VaultValue):
        if _keyring is None:
            return value
        try:
            plain = _keyring.decrypt(value.ciphertext, value.where)
        except InputError as exc:
            # A value the drill does not use must not stop it: fail where it is used.
            return replace(value, failure=exc.diagnostics[0].message)
        mask.add(plain)
        return plain
    if isinstance(value, OpenedVault):
        for text in _strings(value.value):
            mask.add(text)
        return value.value
    if isinstance(value, dict):
        return {k: reveal(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, mask) for v in value]
    return value


def sealed(value: Any) -> bool:
    """Whether `value` holds a vault value anywhere (decided without decrypting)."""
    if isinstance(value, (VaultValue, OpenedVault)):
        return True
    if isinstance(value, dict):
        return any(sealed(v) for v in value.values())
    if isinstance(value, list):
        return any(sealed(v) for v in value)
    return False


class OpenedVars(Mapping[str, Any]):
    """A host's variables with each vault value opened when it is read (connection settings:
    `ansible_password`, `ansible_become_password`). Resolving the host's variables for the
    drill already registered the same plaintexts as secrets."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self._vars = variables

    def __getitem__(self, key: str) -> Any:
        value = self._vars[key]
        if isinstance(value, VaultValue) and _keyring is not None:
            return _keyring.decrypt(value.ciphertext, value.where)
        if isinstance(value, OpenedVault):
            return value.value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` for inventories: a vault value as Ansible lists it."""
    if isinstance(value, VaultValue):
        return value.as_json()
    if isinstance(value, OpenedVault):
        return {"__ansible_vault": f"(decrypted from {value.path})"}
    return str(value)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _split(where: str) -> tuple[str, int, int]:
    path, line, col = where.rsplit(":", 2)
    return path, int(line), int(col)
