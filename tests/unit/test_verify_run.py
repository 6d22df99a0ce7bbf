"""`drillctl verify`: a cut journal, a rewritten result.json and a recomputed chain are refused;
an untouched run, signed or not, verifies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.journal import JOURNAL_NAME, Journal, verify_chain
from runner.journal_events import Event
from runner.secrets import SecretMask
from runner.signing import SIGNATURE_NAME, generate_key_pair, load_private_key, sign_head
from runner.signing import write_signature as write_sig


def write_run(
    run_dir: Path,
    *,
    finish: bool = True,
    result: bool = True,
    key: Path | None = None,
    recover: str = "",  # "", "whole", "cut"
) -> Path:
    """A run directory as the runner leaves it: journal, result.json and, when signed, the sig."""
    run_dir.mkdir()
    journal = Journal(run_dir / JOURNAL_NAME, SecretMask())
    journal.record(Event.RUN_STARTED, run_id="r1", drill="d", pid=0, provenance={})
    journal.record(Event.PHASE_STARTED, phase="deploy")
    journal.record(Event.PHASE_FINISHED, phase="deploy", status="ok", duration_s=0.1)
    if finish:
        journal.record(Event.RUN_FINISHED, status="passed", reason="ok", signal="")
    head, count = journal.head, journal.events
    signature = None
    if key is not None:
        signature = write_sig(run_dir, sign_head(load_private_key(key), head, count))
    if recover:
        journal.record(Event.RECOVER_STARTED, pending=["f1"], pid=0)
        journal.record(Event.FAULT_REVERTED, fault_id="f1", checked=True, by="recover")
        if recover == "whole":
            journal.record(Event.RECOVER_FINISHED, reverted=["f1"], failed=[])
    journal.close()
    if result:
        seal = {
            "file": JOURNAL_NAME,
            "head": head,
            "events": count,
            "signature": None if signature is None else {"file": signature.name},
        }
        (run_dir / "result.json").write_text(json.dumps({"provenance": {"journal": seal}}))
    return run_dir


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "k.pem", tmp_path / "k.pem.pub"
    generate_key_pair(private, public)
    return private, public


def cut_last_line(run_dir: Path) -> None:
    """`head -n -1 journal.jsonl`."""
    path = run_dir / JOURNAL_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def recompute_chain(run_dir: Path, edit: str, replacement: str) -> str:
    """What an attacker with the hashing rule does: edit a line, rehash every line after it,
    and update result.json's head to match. Returns the new head."""
    path = run_dir / JOURNAL_NAME
    prev, out = "0" * 64, []
    for raw in path.read_bytes().splitlines():
        entry = json.loads(raw.replace(edit.encode(), replacement.encode()))
        entry.pop("hash")
        entry["prev"] = prev
        body = json.dumps(entry, separators=(",", ":")).encode()
        prev = hashlib.sha256(body).hexdigest()
        out.append(body[:-1] + b',"hash":"' + prev.encode() + b'"}\n')
    path.write_bytes(b"".join(out))
    result = json.loads((run_dir / "result.json").read_text())
    result["provenance"]["journal"]["head"] = prev
    (run_dir / "result.json").write_text(json.dumps(result))
    return prev


def verify(run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["verify", str(run_dir), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.out + captured.err


def test_an_untouched_finished_run_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(write_run(tmp_path / "run"), capsys)
    assert code == 0, out
    assert "hash chain intact (4 events)" in out
    assert "journal head matches the final event" in out


def test_a_journal_cut_by_one_line_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run")
    cut_last_line(run)
    code, out = verify(run, capsys)
    assert code == 1
    assert "journal.jsonl:3:1: the journal ends without its final event" in out
    assert "lines were cut from its end" in out


def test_a_journal_cut_with_result_json_removed_too_is_still_refused_by_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", result=False)
    (run / "report.html").write_text("<html></html>")
    cut_last_line(run)
    code, out = verify(run, capsys)
    assert code == 1 and "report.html exist" in out


def test_an_unfinished_run_without_evidence_files_verifies_as_unfinished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner that died (or still runs) left no result.json: the chain is what there is."""
    code, out = verify(write_run(tmp_path / "run", finish=False, result=False), capsys)
    assert code == 0, out
    assert "the run did not finish" in out


def test_result_json_whose_head_is_not_the_final_event_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run")
    result = json.loads((run / "result.json").read_text())
    result["provenance"]["journal"]["head"] = "a" * 64
    (run / "result.json").write_text(json.dumps(result))
    code, out = verify(run, capsys)
    assert code == 1 and "records journal head aaaaaaaaaaaaaaaa" in out


def test_a_whole_recover_session_after_the_final_event_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(write_run(tmp_path / "run", recover="whole"), capsys)
    assert code == 0, out
    assert "reverted later by `drillctl recover`" in out


def test_a_recover_session_cut_before_its_end_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(write_run(tmp_path / "run", recover="cut"), capsys)
    assert code == 1 and "ends inside a `drillctl recover` session" in out


def test_an_untouched_signed_run_verifies_with_its_public_key(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", key=keys[0])
    code, out = verify(run, capsys, "--pubkey", str(keys[1]))
    assert code == 0, out
    assert "signature valid" in out


def test_a_recomputed_chain_passes_the_chain_check_but_not_the_signature(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", key=keys[0])
    recompute_chain(run, '"status":"ok"', '"status":"failed"')
    assert verify_chain(run / JOURNAL_NAME).ok  # the rewrite fools the hash chain alone
    code, out = verify(run, capsys, "--pubkey", str(keys[1]))
    assert code == 1
    assert "hash chain intact" not in out  # refusals only
    assert "journal.sig signs head" in out and "rewritten after it was signed" in out
    # Without the key the rewrite is still caught: the signed head no longer matches.
    assert verify(run, capsys)[0] == 1


def test_a_recomputed_chain_with_a_forged_signature_head_is_refused(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", key=keys[0])
    head = recompute_chain(run, '"phase":"deploy"', '"phase":"inject"')
    sig = json.loads((run / SIGNATURE_NAME).read_text())
    sig["head"] = head
    (run / SIGNATURE_NAME).write_text(json.dumps(sig))
    code, out = verify(run, capsys, "--pubkey", str(keys[1]))
    assert code == 1 and "the signature does not match the signed head" in out


def test_a_recomputed_chain_re_signed_with_another_key_is_refused(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", key=keys[0])
    head = recompute_chain(run, '"drill":"d"', '"drill":"e"')
    other = tmp_path / "other.pem"
    generate_key_pair(other, tmp_path / "other.pem.pub")
    write_sig(run, sign_head(load_private_key(other), head, 4))
    code, out = verify(run, capsys, "--pubkey", str(keys[1]))
    assert code == 1 and "not by the given key" in out


def test_a_signed_run_whose_signature_was_removed_is_refused(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", key=keys[0])
    (run / SIGNATURE_NAME).unlink()
    code, out = verify(run, capsys)
    assert code == 1 and "the run was signed, but journal.sig is missing" in out


def test_a_public_key_given_for_an_unsigned_run_is_refused(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(write_run(tmp_path / "run"), capsys, "--pubkey", str(keys[1]))
    assert code == 1 and "no journal.sig: the run was not signed" in out


def test_a_public_key_file_that_is_not_a_key_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    code, out = verify(write_run(tmp_path / "run"), capsys, "--pubkey", str(bad))
    assert code == 2 and f"{bad}:1:1: not a PEM public key" in out
