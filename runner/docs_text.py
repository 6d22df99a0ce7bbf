"""The prose of the generated reference docs: introductions, and descriptions and examples
of keys whose schema has none."""

from __future__ import annotations

PLAYBOOK_INTRO = """# Playbook reference

A playbook is one drill: a YAML mapping with the keys below. Steps are lists under the six
phases (`prepare`, `deploy`, `inject`, `rollback`, `verify`, `cleanup`); each step has one
action and optional step keywords. String values of action arguments and probes are Jinja2
templates, rendered per host in a sandbox with strict undefined variables. Durations are
written `500ms`, `90s`, `5m`, `1h30m` or a number of seconds. `NAME` stands for a name you
choose, `[]` for every item of a list. The JSON Schema is `drillctl schema playbook`.

"""

INVENTORY_INTRO = """# Inventory reference

An inventory is Ansible's YAML layout (`all` / `children` / `hosts` / `vars`) or its INI
format; `group_vars/` and `host_vars/` beside the file are read too. Top-level keys are
groups, usually just `all`; every other group becomes a child of `all`. The JSON Schema is
`drillctl schema inventory`.

```yaml
all:
  vars: {environment: staging}
  children:
    gateway:
      hosts:
        gw[1:2].example.net: {user: deploy}
      vars: {lab_port: 8080}
```

"""

INVENTORY_OUTRO = """## INI format

A file ending in `.yml`, `.yaml` or `.json` is YAML. A file without an extension is YAML
when it reads as a YAML mapping of groups (Ansible tries its YAML plugin first), else INI.
Any other file is Ansible INI:

```ini
[gateway]
gw1 address=10.0.4.17 user=deploy
gw[2:3].example.net

[gateway:vars]
lab_port=8080

[staging:children]
gateway
```

## Values, as Ansible reads them

- **YAML inventories and `group_vars/`/`host_vars/` files are YAML 1.1**, as Ansible reads
  them: `yes`/`no`/`on`/`off` (any case spelling YAML 1.1 knows) are booleans, `0755` is
  octal (493), `1:20` is sexagesimal (80), `1e3` is text. So `rollout_enabled: no` is false
  and `when: rollout_enabled` skips the step, as in Ansible. **Playbooks are YAML 1.2**:
  there `no` is the text "no" and only `true`/`false` are booleans. Dates stay text.
- **INI values** are Python literals when they read as one (`42`, `1.5`, `True`, `None`,
  `[1, 2]`, `{'a': 1}`, `'quoted'`), else text: `yes`, `no`, `true` and `false` are text.
  Tuples and sets become lists. In a `[group:vars]` section everything after the first `=`
  is the value: `a = foo # note` is the text `foo # note`, while `n = 23 # note` is 23
  (Python reads the comment). On host lines words are split like a shell, and `#` starts
  a comment.

## Several inventories

`-i a.yml -i b.ini` merges them in order, as Ansible does: a host or group named in both
is one; a later source's variables replace an earlier one's; hosts and child groups add
up; each source's `group_vars/` and `host_vars/` apply, a later folder's winning.
`run`, `plan`, `lint`, `inventory` and `exec` all take several `-i`.

A drill on several sources takes the lock of each source file (in a fixed order), so it
and a drill on any one of them exclude each other. It is guarded as production (needing
`--allow-production` and `--change-id`) when any one source, read on its own with its
folder's `group_vars/all`, says `environment: production`, even if a later source's
`environment` replaces it in the merge.

## Connection defaults from the command line

`-u USER`, `--private-key FILE`, `-b` and `--become-user USER` give SSH hosts a login
user, a key, and `become` (sudo, by default to root) when they set none themselves: a
host's own `user`/`ansible_user`, `ssh_key_file`/`ansible_ssh_private_key_file`,
`become`/`ansible_become` and `become_user`/`ansible_become_user` win, as in Ansible.
`-u` also wins over `User` in `~/.ssh/config`. Local and Docker hosts are not affected.

## Variable precedence

Group `all` < parent groups < child groups < `group_vars/` files < host variables <
`host_vars/` files; then playbook `vars` < registered results < `-e` extra vars. Among
groups at the same depth a higher `ansible_group_priority` (set in the inventory file, not
in `group_vars/`; default 1) wins, then the name in alphabetical order. The priority is a
property of the group, not a variable of its hosts.

## Host patterns

`all`, a host or group name, globs (`web*`), `~regex` (anchored at the start), unions
(`a:b` or `a,b`), intersections (`a:&b`), exclusions (`a:!b`) and subscripts (`web[0]`,
`web[-1]`, `web[0:2]`, `web[1:]`, inclusive), as in Ansible, and in Ansible's order: each
union term's hosts in turn, a group's own hosts before its child groups' hosts, each host
once. `--limit @FILE` reads one pattern per line (a retry file). See what drillctl sees
with `drillctl inventory -i INV --graph`.

## Where drillctl differs from ansible-inventory

A differential test runs ansible-core's `ansible-inventory --list` and its pattern
matching against drillctl on a corpus of inventories
(`tests/fixtures/ansible_inventories/`). It finds these differences, each deliberate:

- **A name that matches nothing is an error** naming the closest match; Ansible warns and
  selects nobody. A mistyped group must not turn a drill into one that targets no host.
- **Group order below the first level of children**: Ansible leaves it to a set's
  iteration order (it can change between runs); drillctl uses the order the groups were
  written.
- **Subscripts `[x-y]`**, which Ansible has removed, read as the glob they look like.
"""


# Descriptions of keys whose schema has none (they belong in the schemas; see the report).
KEY_DOCS: dict[str, str] = {
    "playbook:description": "What the drill proves, for the report.",
    "playbook:objectives": "What the drill must achieve; each is judged in result.json.",
    "playbook:probes": "Background probes by name, sampled for the whole drill.",
    "playbook:probes.NAME.http": "Availability: an HTTP request from the controller.",
    "playbook:probes.NAME.http.url": "URL to request (templated per host).",
    "playbook:probes.NAME.http.status": "Healthy status code(s); default any 2xx.",
    "playbook:probes.NAME.http.contains": "Healthy only if the body contains this text.",
    "playbook:probes.NAME.http.json_match": "Healthy only if the JSON body has these values.",
    "playbook:probes.NAME.http.timeout": "Per-request limit; a slower answer is a failure.",
    "playbook:probes.NAME.tcp": "Availability: a TCP connect from the controller.",
    "playbook:probes.NAME.tcp.host": "Host to connect to (default: the host's address).",
    "playbook:probes.NAME.tcp.port": "Port to connect to.",
    "playbook:probes.NAME.data.write": "Step arguments of one numbered write (`{{ seq }}`).",
    "playbook:probes.NAME.data.read": "Step arguments that print the sequence numbers present.",
    "playbook:probes.NAME.healthy_after": "Consecutive healthy samples that end the outage.",
    "playbook:triggers": "Conditions that start the automatic rollback (the first decides).",
    "playbook:triggers[].probe": "The probe whose samples are judged.",
    "playbook:triggers[].consecutive_failures": "Fire after this many failures in a row.",
    "playbook:triggers[].error_rate": "Fire when this share of samples in `window` failed.",
    "playbook:triggers[].latency_p": "Percentile of latency judged against `above`.",
    "playbook:triggers[].above": "Latency threshold for `latency_p`.",
    "playbook:triggers[].window": "Time window for `error_rate` and `latency_p`.",
    "playbook:triggers[].every": "How often an alert trigger asks its source.",
    "playbook:triggers[].timeout": "Longest one alert poll may take; a slower one is unknown.",
    "playbook:probes.NAME.prometheus.expect.op": "Comparator of each series' value and `value`.",
    "playbook:probes.NAME.prometheus.expect.value": "The threshold.",
    "playbook:probes.NAME.prometheus.expect.match": "`all` series must satisfy it, or `any`.",
    "playbook:probes.NAME.prometheus.timeout": "Per-query limit; a slower answer is unknown.",
    "playbook:decision": "`auto` rolls back on a trigger; `manual` waits for an operator.",
    "playbook:decision.manual": "Wait for `drillctl approve` (or the prompt) to roll back.",
    "playbook:decision.timeout": "How long to wait for the approval.",
    "playbook:checklists.before": "Items to tick before the change (the seed's pre-checks).",
    "playbook:checklists.during": "Items to tick while the rollback runs.",
    "playbook:checklists.after": "Items to tick once the service is back.",
    "http:headers": "Request headers.",
    "flag:headers": "Request headers for the flag API.",
    "wait_for:port": "TCP port to wait for.",
    "wait_for:http.headers": "Request headers.",
    "assert:fail_msg": "Message when an assertion fails (templated).",
    "assert:success_msg": "Message when all pass (templated).",
    "pause:duration": "How long to wait.",
    "pause:reason": "Why, for the report.",
    "resource.cpu:workers": "Number of CPU burners.",
    "file.corrupt:length": "`truncate`: bytes kept.",
    "file.corrupt:bytes": "`garbage`: bytes overwritten.",
    "file.corrupt:offset": "`garbage`: where the overwrite starts.",
    "file.corrupt:text": "`append`: text added at the end.",
}

KEY_EXAMPLES: dict[str, str] = {
    "playbook:drill": "order-gateway code rollback",
    "playbook:description": "Deploy 3.2.0, fail its health check, prove 3.1.2 is back.",
    "playbook:component": "order-gateway",
    "playbook:rollback_type": "2",
    "playbook:objectives": "{rto: 5m, rpo: 0s}",
    "playbook:vars": '{good: "3.1.2", bad: "3.2.0"}',
    "playbook:secrets": "[db_password]",
    "playbook:serial": '"30%"',
    "playbook:probes": "{health: {http: {url: …}, every: 100ms}}",
    "playbook:probes.NAME.http": '{url: "http://{{ host.address }}:8080/health", timeout: 500ms}',
    "playbook:probes.NAME.http.url": "http://{{ host.address }}:8080/health",
    "playbook:probes.NAME.http.status": "[200, 204]",
    "playbook:probes.NAME.http.contains": '"status": "ok"',
    "playbook:probes.NAME.http.json_match": "{status: ok}",
    "playbook:probes.NAME.tcp": "{port: 5432}",
    "playbook:probes.NAME.tcp.host": "{{ host.address }}",
    "playbook:probes.NAME.tcp.port": "5432",
    "playbook:probes.NAME.command": "pg_isready -q",
    "playbook:probes.NAME.data": '{write: {shell: "…{{ seq }}…"}, read: {shell: "…"}}',
    "playbook:probes.NAME.data.write": '{http: {url: "{{ url }}/ledger?seq={{ seq }}"}}',
    "playbook:probes.NAME.data.read": '{http: {url: "{{ url }}/ledger"}}',
    "playbook:probes.NAME.hosts": "gateway",
    "playbook:triggers": "[{probe: health, consecutive_failures: 3}, step_failed]",
    "playbook:triggers[].probe": "health",
    "playbook:triggers[].consecutive_failures": "3",
    "playbook:triggers[].error_rate": "0.2",
    "playbook:triggers[].latency_p": "99",
    "playbook:triggers[].above": "800ms",
    "playbook:triggers[].window": "10s",
    "playbook:triggers[].alert": "LabDown",
    "playbook:triggers[].prometheus": "http://127.0.0.1:9090",
    "playbook:triggers[].alertmanager": "http://127.0.0.1:9093",
    "playbook:probes.NAME.prometheus": '{url: …, query: "up", expect: {op: ">=", value: 1}}',
    "playbook:probes.NAME.prometheus.expect": '{op: ">=", value: 1}',
    "playbook:probes.NAME.prometheus.expect.value": "1",
    "playbook:probes.NAME.prometheus.timeout": "2s",
    "playbook:decision": "{manual: true, timeout: 15m}",
    "playbook:decision.manual": "true",
    "playbook:prepare": "[{name: baseline is healthy, http: {url: …}}]",
    "playbook:deploy": "[{name: ship 3.2.0, shell: ./deploy.sh 3.2.0}]",
    "playbook:inject": "[{fault: {kind: process.kill, name: gateway, restart: …}}]",
    "playbook:rollback": "auto",
    "playbook:verify": "[{assert: {that: running.json.version == good}}]",
    "playbook:cleanup": "[{command: rm -rf /tmp/drill}]",
    "playbook:checklists.during": '[{id: decided, text: "Rollback decision recorded"}]',
    "playbook:checklists.before[].step": "baseline is healthy",
    "playbook:checklists.during[].id": "decided",
    "playbook:checklists.during[].text": "Rollback decision recorded",
    "playbook:checklists.during[].step": "redeploy the previous release",
    "step:name": "new release is healthy",
    "step:when": "inventory_hostname == victim",
    "step:register": "running",
    "step:until": "result.status == 200",
    "step:tags": "[chaos]",
    "step:loop": "[1, 2, 3]",
    "command:cmd": "systemctl restart order-gateway",
    "command:chdir": "/srv/order-gateway",
    "command:env": "{LANG: C.UTF-8}",
    "command:stdin": "yes",
    "shell:cmd": "./deploy.sh --version={{ good | quote }}",
    "shell:chdir": "/srv/order-gateway",
    "shell:env": "{LANG: C.UTF-8}",
    "shell:stdin": "SELECT 1;",
    "http:headers": "{Accept: application/json}",
    "http:body": "ping",
    "http:json": "{seq: 0}",
    "http:contains": '"status": "ok"',
    "wait_for:host": "127.0.0.1",
    "wait_for:command": "pg_isready -q",
    "wait_for:http.url": "http://{{ host.address }}:8080/health",
    "wait_for:http.headers": "{Accept: application/json}",
    "wait_for:http.body": "ping",
    "wait_for:http.json": "{seq: 0}",
    "wait_for:http.contains": "ok",
    "wait_for:http.json_match": "{status: ok}",
    "assert:success_msg": "running {{ good }}",
    "docker.image:dockerfile": "Dockerfile.prod",
    "docker.image:build_args": "{VERSION: 3.2.0}",
    "fault:kind": "network.partition",
    "fault:percent": "50",
    "config:restore": "/var/tmp/drillctl/20261121T101500Z-app/web1/app.conf.20261121T1015Z.bak",
    "migrate:down_check": "SELECT count(*) = 0 FROM pragma_table_info('orders')",
    "migrate:backup_dir": "/var/backups/orders",
    "migrate:backup_file": "/var/backups/orders/before-3.2.0.backup",
    "flag:read": "https://flags.internal/api/flags/new_pricing",
    "flag:headers": '{Authorization: "Bearer {{ flag_token }}"}',
    "pip:index_url": "https://pypi.internal/simple",
    "group:hosts": "{gw1: {address: 10.0.4.17}, gw2: }",
    "group:children": "{canary: {hosts: {gw1: }}}",
    "group:vars": "{lab_port: 8080}",
    "inventory:all": "{vars: {environment: staging}, children: {gateway: {hosts: {gw1: }}}}",
    "inventory:ungrouped": "{hosts: {bastion: }}",
    "vars:address": "10.0.4.17",
    "vars:port": "2222",
    "vars:user": "deploy",
    "vars:connection": "ssh",
    "vars:ansible_host": "10.0.4.17",
    "vars:ansible_port": "2222",
    "vars:ansible_user": "deploy",
    "vars:ansible_connection": "local",
    "vars:ansible_ssh_host": "10.0.4.17",
    "vars:ansible_ssh_port": "2222",
    "vars:ansible_ssh_user": "deploy",
    "vars:environment": "staging",
    "vars:drillctl_state_dir": "/srv/drillctl-state",
    "vars:production_names": "[live, prd]",
}
