"""Acceptance: Ansible Vault values, encrypted by ansible-core's own `ansible-vault`, reach the
step that uses them and no output of the run.

The estate is what an Ansible team already has: `group_vars/all/vault.yml` encrypted whole
with `ansible-vault encrypt`, an inline `!vault` value made with `ansible-vault encrypt_string`
in the inventory and another in the playbook's vars.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.lab.ansible_folder import AnsibleFolder
from tests.lab.ansible_tools import ansible_tool

pytestmark = pytest.mark.integration

FILE_SECRET = "Db-pa55/from+the-vault-file"
INLINE_SECRET = "Inline-t0ken&from'encrypt_string"
PLAYBOOK_SECRET = "Playbook-vars-s3cret#1"
PASSWORD = "correct horse battery staple"


def encrypt_string(password_file: Path, value: str, name: str) -> str:
    done = subprocess.run(
        [
            ansible_tool("ansible-vault"),
            "encrypt_string",
            "--vault-password-file",
            str(password_file),
            "--name",
            name,
            value,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def estate(folder: AnsibleFolder, received: Path) -> dict[str, Path]:
    """An inventory folder with a vault-encrypted vars file, and a drill using the values."""
    tmp_path = folder.root
    password = tmp_path / "vault-pass.txt"
    password.write_text(PASSWORD + "\n")
    vault_file = tmp_path / "group_vars" / "all" / "vault.yml"
    vault_file.parent.mkdir(parents=True)
    vault_file.write_text(f"db_password: {json.dumps(FILE_SECRET)}\n")
    subprocess.run(
        [
            ansible_tool("ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password),
            str(vault_file),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert vault_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    inventory = folder.local_inventory(
        encrypt_string(password, INLINE_SECRET, "api_token")
        + "# encrypted under another password, and used by no step: harmless\n"
        + "old_token: !vault |\n"
        + "  $ANSIBLE_VAULT;1.1;AES256\n"
        + "  3132333435\n"
    )
    playbook = folder.write(
        "drill.yml",
        "drill: vaulted credentials\n"
        "rollback_type: 1\n"
        "vars:\n"
        + indent(encrypt_string(password, PLAYBOOK_SECRET, "signing_key"), 2)
        + "deploy:\n"
        "  - name: deploy with the vaulted credentials\n"
        "    shell: >-\n"
        "      printf '%s\\n%s\\n%s\\n' {{ db_password | quote }} {{ api_token | quote }}\n"
        f"      {{{{ signing_key | quote }}}} > {received}\n"
        "      && echo db={{ db_password }} token={{ api_token | b64encode }}\n"
        "      && echo key={{ signing_key | urlencode }} >&2\n"
        "rollback:\n"
        "  - name: roll back\n"
        "    shell: echo rolled back with {{ db_password }}\n"
        "verify:\n"
        "  - name: the step received the values\n"
        f"    shell: test -s {received}\n",
    )
    return {"password": password, "inventory": inventory, "playbook": playbook}


def test_vaulted_secrets_reach_the_step_and_no_output(ansible_folder: AnsibleFolder) -> None:
    received = ansible_folder.root / "received.txt"
    files = estate(ansible_folder, received)
    done = ansible_folder.run(
        files["playbook"], files["inventory"], "--vault-password-file", str(files["password"]), "-v"
    )
    run_dir = done.run_dir
    assert done.returncode == 0, done.stdout + done.stderr
    # The step got the decrypted values themselves.
    assert received.read_text().splitlines() == [FILE_SECRET, INLINE_SECRET, PLAYBOOK_SECRET]
    outputs = {"stdout": done.stdout, "stderr": done.stderr}
    for path in run_dir.rglob("*"):
        if path.is_file():
            outputs[str(path.relative_to(run_dir))] = path.read_text(errors="replace")
    assert {"journal.jsonl", "result.json"} <= set(outputs)
    assert any(name.startswith("report") for name in outputs)
    forms = [
        FILE_SECRET,
        INLINE_SECRET,
        PLAYBOOK_SECRET,
        base64.b64encode(INLINE_SECRET.encode()).decode(),
    ]
    for name, text in outputs.items():
        for form in forms:
            assert form not in text, f"{form!r} leaked into {name}"
    assert "db=********" in outputs["journal.jsonl"]  # the echo ran, and was masked


def test_without_a_password_using_a_vault_value_is_located_bad_input(
    ansible_folder: AnsibleFolder,
) -> None:
    tmp_path = ansible_folder.root
    received = tmp_path / "received.txt"
    files = estate(ansible_folder, received)
    (tmp_path / "group_vars").rename(tmp_path / "elsewhere")  # only the inline values remain
    done = ansible_folder.drillctl(
        "run",
        str(files["playbook"]),
        "-i",
        str(files["inventory"]),
        "-e",
        "db_password=given-on-the-command-line",
        "--out",
        "r",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--vault-password-file" in done.stderr
    # Located at the step that uses it, naming where the sealed value was written.
    assert f"{files['playbook']}:13:12:" in done.stderr
    assert f"{files['inventory']}:5:18:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not received.exists()
    assert not (tmp_path / "r").exists()


def test_an_encrypted_vars_file_without_a_password_names_the_file(
    ansible_folder: AnsibleFolder,
) -> None:
    tmp_path = ansible_folder.root
    files = estate(ansible_folder, tmp_path / "received.txt")
    done = ansible_folder.drillctl("plan", str(files["playbook"]), "-i", str(files["inventory"]))
    assert done.returncode == 2
    assert "group_vars/all/vault.yml:1:1:" in done.stderr
    assert "--vault-password-file" in done.stderr


def test_a_wrong_password_is_bad_input_without_a_traceback(ansible_folder: AnsibleFolder) -> None:
    tmp_path = ansible_folder.root
    received = tmp_path / "received.txt"
    files = estate(ansible_folder, received)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    done = ansible_folder.drillctl(
        "run",
        str(files["playbook"]),
        "-i",
        str(files["inventory"]),
        "--vault-password-file",
        str(wrong),
        "--out",
        "r",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "wrong password" in done.stderr
    assert "Traceback" not in done.stderr
    assert not received.exists()


def test_a_vault_value_no_step_uses_does_not_stop_the_drill(ansible_folder: AnsibleFolder) -> None:
    """`old_token` cannot be opened with this password; no step uses it, so the drill runs."""
    tmp_path = ansible_folder.root
    received = tmp_path / "received.txt"
    files = estate(ansible_folder, received)
    done = ansible_folder.drillctl(
        "plan",
        str(files["playbook"]),
        "-i",
        str(files["inventory"]),
        "--vault-password-file",
        str(files["password"]),
    )
    assert done.returncode == 0, done.stderr
    assert INLINE_SECRET not in done.stdout and "token=********" in done.stdout


def test_inventory_lists_a_sealed_value_as_ansible_does(ansible_folder: AnsibleFolder) -> None:
    tmp_path = ansible_folder.root
    files = estate(ansible_folder, tmp_path / "received.txt")
    (tmp_path / "group_vars").rename(tmp_path / "elsewhere")
    done = ansible_folder.drillctl("inventory", "-i", str(files["inventory"]), "--list")
    assert done.returncode == 0, done.stderr
    token = json.loads(done.stdout)["_meta"]["hostvars"]["app1"]["api_token"]
    assert token["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256")


def test_an_ansible_step_gets_the_opened_values_and_its_output_is_masked(
    ansible_folder: AnsibleFolder,
) -> None:
    """The playbook receives the decrypted value and prints it; drillctl's outputs hide it."""
    tmp_path = ansible_folder.root
    ansible_tool("ansible-playbook")
    received = tmp_path / "received.txt"
    files = estate(ansible_folder, tmp_path / "unused.txt")
    ansible_folder.write(
        "site.yml",
        "- hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: show the credentials\n"
        "      ansible.builtin.debug: {msg: 'db={{ db_password }} token={{ api_token }}'}\n"
        "    - name: use the credentials\n"
        "      ansible.builtin.copy:\n"
        "        content: '{{ db_password }} {{ api_token }}'\n"
        f"        dest: {received}\n",
    )
    playbook = ansible_folder.write(
        "ansible-drill.yml",
        "drill: vaulted ansible\nrollback_type: 1\n"
        "deploy:\n  - ansible: site.yml\n"
        "rollback:\n  - shell: 'true'\n"
        f"verify:\n  - shell: 'test -s {received}'\n",
    )
    done = ansible_folder.run(
        playbook, files["inventory"], "--vault-password-file", str(files["password"]), "-vv"
    )
    run_dir = done.run_dir
    assert done.returncode == 0, done.stdout + done.stderr
    assert received.read_text() == f"{FILE_SECRET} {INLINE_SECRET}"
    journal = (run_dir / "journal.jsonl").read_text()
    assert "show the credentials" in journal and "db=********" in journal
    outputs = [done.stdout, done.stderr] + [
        p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file()
    ]
    for text in outputs:
        assert FILE_SECRET not in text and INLINE_SECRET not in text


def test_ask_vault_pass_reads_the_password_typed(ansible_folder: AnsibleFolder) -> None:
    tmp_path = ansible_folder.root
    files = estate(ansible_folder, tmp_path / "received.txt")
    args = ("plan", str(files["playbook"]), "-i", str(files["inventory"]), "--ask-vault-pass")

    def plan(typed: str) -> subprocess.CompletedProcess[str]:
        return ansible_folder.drillctl(*args, input=typed)

    opened = plan(PASSWORD + "\n")
    assert opened.returncode == 0, opened.stderr
    assert "db=********" in opened.stdout and FILE_SECRET not in opened.stdout
    wrong = plan("not it\n")
    assert wrong.returncode == 2
    assert "--ask-vault-pass (wrong password?)" in wrong.stderr
