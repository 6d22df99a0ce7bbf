"""`drillctl verify` and `drillctl keygen`: a run's evidence, and the key that signs it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runner.cli.command import Command
from runner.errors import ExitCode, InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def verify_evidence(args: argparse.Namespace) -> int:
    """Exit 0 when the run's evidence holds, 1 naming the first line that does not."""
    from runner.journal import JOURNAL_NAME
    from runner.verify_run import verify_run

    run_dir = Path(args.run_dir)
    path = run_dir / JOURNAL_NAME if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise InputError.at(
            str(path), 1, 1, "no journal here; give a run directory or its journal.jsonl"
        )
    public = _public_key(args.pubkey) if args.pubkey else None
    report = verify_run(run_dir, public)
    if report.ok:
        print(f"{path}: " + "; ".join(report.notes))
        return ExitCode.PASSED
    for line, why in report.problems:
        print(f"{path}:{line}:1: {why}")
    return ExitCode.FAILED


def _public_key(path: str) -> Ed25519PublicKey:
    from runner.signing import KeyFileError, load_public_key

    try:
        return load_public_key(Path(path))
    except KeyFileError as exc:
        raise InputError.at(path, 1, 1, str(exc)) from None


def make_key_pair(args: argparse.Namespace) -> int:
    """Write an ed25519 key pair for `run --sign-key` and `verify --pubkey`."""
    from runner.signing import KeyFileError, generate_key_pair

    private: str = args.private_key
    public: str = args.public_key or f"{private}.pub"
    try:
        kid = generate_key_pair(Path(private), Path(public))
    except KeyFileError as exc:
        raise InputError.at(private, 1, 1, str(exc)) from None
    except OSError as exc:
        raise InputError.at(private, 1, 1, f"cannot write the key: {exc.strerror or exc}") from None
    print(f"private key {private} (keep it secret), public key {public}: {kid}")
    return ExitCode.PASSED


def _verify_arguments(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("run_dir")
    verify.add_argument(
        "--pubkey",
        metavar="PUB.pem",
        help="ed25519 public key the run must be signed with (refuses an unsigned run)",
    )


def _keygen_arguments(keygen: argparse.ArgumentParser) -> None:
    keygen.add_argument("private_key", help="where to write the private key")
    keygen.add_argument("public_key", nargs="?", help="the public key (default PRIVATE.pub)")


VERIFY = Command(
    "verify",
    "check a run's journal: hash chain, final event, signature",
    description="Recompute the SHA-256 chain of RUN_DIR/journal.jsonl; check that a "
    "finished run's journal ends with its final event and that its hash is the head "
    "result.json records; check journal.sig when the run was signed. Exit 0 when the "
    "evidence holds, 1 when a line was changed, removed, cut or torn, or the signature "
    "does not hold.",
    epilog="examples:\n  drillctl verify drills/runs/20261121T101500Z-quickstart\n"
    "  drillctl verify RUN_DIR --pubkey drill-signing.pem.pub",
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_verify_arguments,
    handler=verify_evidence,
)

KEYGEN = Command(
    "keygen",
    "make an ed25519 key pair to sign journals",
    description="Write an unencrypted ed25519 private key (PEM, mode 0600) for "
    "`run --sign-key` and its public key (PEM) for `verify --pubkey`. Never overwrites.",
    epilog="example:\n  drillctl keygen drill-signing.pem  # and drill-signing.pem.pub",
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_keygen_arguments,
    handler=make_key_pair,
)
