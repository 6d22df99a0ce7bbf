"""Loading inventories: YAML and INI layouts, vars files, precedence, connection fields."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.inventory import Host, Inventory, implicit_localhost, load_inventory
from runner.inventory.patterns import select_hosts
from runner.inventory.views import render_graph, to_ansible_list

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "inventories" / "examples"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def host(inv: Inventory, name: str) -> Host:
    return inv.hosts[name]


# --- the two file formats ---------------------------------------------------------------


def test_ini_and_yaml_with_group_vars_resolve_to_same_hosts_and_vars() -> None:
    ini = load_inventory(EXAMPLES / "hosts.ini")
    yml = load_inventory(EXAMPLES / "hosts.yml")

    assert list(ini.hosts) == list(yml.hosts) == ["gw1", "gw2", "db1"]
    assert ini.hosts == yml.hosts
    assert ini.groups == yml.groups
    assert ini.environment == yml.environment == "staging"
    assert to_ansible_list(ini) == to_ansible_list(yml)
    gw1 = ini.hosts["gw1"]
    assert (gw1.address, gw1.connection, gw1.port, gw1.user) == ("127.0.0.2", "ssh", None, "drill")
    assert gw1.vars["lab_port"] == 18081  # host var beats group_vars/gateway.yml
    assert ini.hosts["gw2"].vars["lab_port"] == 18080
    assert ini.hosts["db1"].port == 2222
    assert ini.hosts["db1"].vars["db_role"] == "primary"  # host_vars/db1.yml


def test_local_inventory_targets_lab1_locally() -> None:
    inv = load_inventory(REPO / "inventories" / "local.yml")

    lab1 = inv.hosts["lab1"]
    assert (lab1.address, lab1.connection, lab1.port) == ("127.0.0.1", "local", None)
    assert lab1.vars["lab_port"] == 18080
    assert inv.group_members("gateway") == ["lab1"]


def test_yaml_groups_nest_to_any_depth_and_a_host_may_sit_in_several(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          children:
            region:
              children:
                zone:
                  children:
                    rack:
                      hosts:
                        h1:
            other:
              hosts:
                h1:
                h2:
        """,
    )
    inv = load_inventory(path)

    assert list(inv.hosts) == ["h1", "h2"]
    assert inv.group_members("region") == ["h1"]
    assert inv.groups["zone"].children == ("rack",)
    assert inv.hosts["h1"].groups == ("all", "other", "region", "zone", "rack")


def test_top_level_groups_beside_all_become_children_of_all(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          hosts:
            solo:
        gateway:
          hosts:
            gw1:
        """,
    )
    inv = load_inventory(path)

    assert inv.groups["all"].children == ("ungrouped", "gateway")
    assert inv.groups["ungrouped"].hosts == ("solo",)
    assert inv.group_members("all") == ["solo", "gw1"]


def test_null_host_and_group_values_mean_nothing_set(tmp_path: Path) -> None:
    path = write(
        tmp_path, "inv.yml", "all:\n  children:\n    empty:\n    g:\n      hosts:\n        h:\n"
    )
    inv = load_inventory(path)

    assert inv.hosts["h"].vars == {}
    assert inv.groups["empty"].hosts == ()


def test_ini_values_are_python_literals_so_yes_no_and_true_stay_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        """
        [g]
        h count=3 ratio=0.5 on=true off=False answer=yes list='[1, 2]' name="two words"
        [g:vars]
        greeting = "hello world"   # a comment
        flag = no
        """,
    )
    v = load_inventory(path).hosts["h"].vars

    # As ansible-inventory prints it: `true` is no Python name, so it stays text.
    assert (v["count"], v["ratio"], v["on"], v["off"]) == (3, 0.5, "true", False)
    assert (v["answer"], v["list"], v["name"]) == ("yes", [1, 2], "two words")
    assert (v["greeting"], v["flag"]) == ("hello world", "no")


def test_ini_hosts_before_any_section_are_ungrouped_and_comments_are_skipped(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        """
        # a comment
        ; another comment
        solo ansible_host=127.0.0.9  # trailing comment
        [g]
        h1
        """,
    )
    inv = load_inventory(path)

    assert inv.groups["ungrouped"].hosts == ("solo",)
    assert inv.hosts["solo"].vars == {"ansible_host": "127.0.0.9"}


def test_ini_children_may_be_declared_after_they_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[parent:children]\nkid\n[parent:vars]\nx=1\n[kid]\nh1\n")
    inv = load_inventory(path)

    assert inv.group_members("parent") == ["h1"]
    assert inv.hosts["h1"].vars == {"x": 1}


def test_host_ranges_expand_in_ini_and_yaml_keys(tmp_path: Path) -> None:
    ini = write(tmp_path, "hosts", "[web]\nweb[01:03] role=front\ndb-[a:b]\n")
    yml = write(tmp_path, "inv.yml", "all:\n  hosts:\n    web[1:5:2]:\n      role: front\n")

    assert list(load_inventory(ini).hosts) == ["web01", "web02", "web03", "db-a", "db-b"]
    assert list(load_inventory(yml).hosts) == ["web1", "web3", "web5"]
    assert load_inventory(yml).hosts["web3"].vars == {"role": "front"}


def test_host_port_suffix_sets_ansible_port(tmp_path: Path) -> None:
    ini = write(tmp_path, "hosts", "gw1:2222\n[v6]\n::1\n")
    yml = write(tmp_path, "inv.yml", 'all:\n  hosts:\n    "gw1:2200":\n')

    assert load_inventory(ini).hosts["gw1"].port == 2222
    assert load_inventory(ini).hosts["gw1"].vars == {"ansible_port": 2222}
    assert load_inventory(ini).hosts["::1"].port is None
    assert load_inventory(yml).hosts["gw1"].port == 2200


def test_json_inventory_is_read_like_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.json", '{"all": {"hosts": {"h1": {"ansible_port": 2201}}}}')

    assert load_inventory(path).hosts["h1"].port == 2201


# --- connection fields ------------------------------------------------------------------


def test_ansible_connection_names_are_accepted_and_ours_win(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          hosts:
            ansible_style:
              ansible_host: 127.0.0.2
              ansible_port: 2201
              ansible_user: ops
              ansible_connection: ssh
            old_style: {ansible_ssh_host: 127.0.0.3, ansible_ssh_port: 2202, ansible_ssh_user: o}
            both:
              address: 127.0.0.4
              ansible_host: 10.9.9.9
              port: 2204
              ansible_port: 9
              user: ours
              ansible_user: theirs
              connection: docker
              ansible_connection: ssh
        """,
    )
    inv = load_inventory(path)

    def fields(name: str) -> tuple[object, ...]:
        h = inv.hosts[name]
        return h.address, h.port, h.user, h.connection

    assert fields("ansible_style") == ("127.0.0.2", 2201, "ops", "ssh")
    assert fields("old_style") == ("127.0.0.3", 2202, "o", "ssh")
    assert fields("both") == ("127.0.0.4", 2204, "ours", "docker")
    assert inv.hosts["both"].vars["ansible_host"] == "10.9.9.9"  # still visible in vars


def test_connection_aliases_map_to_our_three_kinds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        """
        a ansible_connection=paramiko
        b ansible_connection=smart
        c ansible_connection=paramiko_ssh
        d ansible_connection=community.docker.docker
        e connection=local
        """,
    )
    inv = load_inventory(path)

    assert [h.connection for h in inv.hosts.values()] == ["ssh", "ssh", "ssh", "docker", "local"]
    assert inv.hosts["a"].vars["ansible_connection"] == "paramiko"


def test_default_connection_is_ssh_to_the_host_name(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "hosts", "gw1\n127.0.0.1\n"))

    assert (inv.hosts["gw1"].address, inv.hosts["gw1"].connection) == ("gw1", "ssh")
    assert inv.hosts["127.0.0.1"].connection == "ssh"


def test_bare_localhost_defaults_to_local_but_not_with_an_address(tmp_path: Path) -> None:
    bare = load_inventory(write(tmp_path, "a.ini", "localhost\n"))
    addressed = load_inventory(write(tmp_path, "b.ini", "localhost ansible_host=127.0.0.5\n"))

    assert bare.hosts["localhost"].connection == "local"
    assert addressed.hosts["localhost"].connection == "ssh"


def test_environment_comes_from_group_all_after_group_vars(tmp_path: Path) -> None:
    with_file = write(tmp_path, "a/hosts.yml", "all:\n  vars:\n    environment: staging\n")
    write(tmp_path, "a/group_vars/all.yml", "environment: production\n")
    without = write(tmp_path, "b/hosts.yml", "all:\n  hosts:\n    h:\n")

    assert load_inventory(with_file).environment == "production"
    assert load_inventory(without).environment is None


# --- vars files ---------------------------------------------------------------------------


def test_group_vars_directory_merges_its_files_in_sorted_order(tmp_path: Path) -> None:
    inv_path = write(tmp_path, "hosts", "[g]\nh\n")
    write(tmp_path, "group_vars/g/20-late.yml", "x: late\n")
    write(tmp_path, "group_vars/g/10-early.yaml", "x: early\ny: early\n")
    write(tmp_path, "group_vars/g/.hidden.yml", "x: hidden\n")

    assert load_inventory(inv_path).hosts["h"].vars == {"x": "late", "y": "early"}


def test_vars_files_may_be_json_or_have_no_extension(tmp_path: Path) -> None:
    inv_path = write(tmp_path, "hosts", "[g]\nh\n")
    write(tmp_path, "group_vars/g.json", '{"from_json": 1}')
    write(tmp_path, "host_vars/h", "from_plain_file: 2\n")

    assert load_inventory(inv_path).hosts["h"].vars == {"from_json": 1, "from_plain_file": 2}


# --- precedence ---------------------------------------------------------------------------


def test_child_group_vars_beat_parent_and_all(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        """
        [kid]
        h
        [parent:children]
        kid
        [kid:vars]
        x=kid
        [parent:vars]
        x=parent
        y=parent
        [all:vars]
        x=all
        y=all
        z=all
        """,
    )

    assert load_inventory(path).hosts["h"].vars == {"x": "kid", "y": "parent", "z": "all"}


def test_deeper_group_wins_whatever_order_the_file_uses(tmp_path: Path) -> None:
    # `deep` sits two levels below all; `shallow` one level: depth decides, not file order.
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          children:
            top:
              children:
                deep:
                  hosts: {h: }
                  vars: {x: deep}
            shallow:
              hosts: {h: }
              vars: {x: shallow}
        """,
    )

    assert load_inventory(path).hosts["h"].vars["x"] == "deep"


def test_sibling_groups_at_the_same_depth_apply_alphabetically(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        "[zeta]\nh\n[alpha]\nh\n[zeta:vars]\nx=zeta\n[alpha:vars]\nx=alpha\n",
    )

    assert load_inventory(path).hosts["h"].vars["x"] == "zeta"


def test_group_vars_file_beats_inventory_vars_of_the_same_group(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh\n[g:vars]\nx=inline\ny=inline\n")
    write(tmp_path, "group_vars/g.yml", "x: file\n")

    inv = load_inventory(path)
    assert inv.hosts["h"].vars == {"x": "file", "y": "inline"}
    assert inv.groups["g"].vars == {"x": "file", "y": "inline"}


def test_group_vars_files_beat_inline_vars_of_any_group_as_ansible(tmp_path: Path) -> None:
    # Ansible merges all inventory-file group vars, then all group_vars files, so a
    # parent's file beats a child's inline value; group_vars/all stays below both.
    path = write(
        tmp_path,
        "hosts",
        "[kid]\nh\n[parent:children]\nkid\n[kid:vars]\nx=kid_inline\ny=kid_inline\n",
    )
    write(tmp_path, "group_vars/parent.yml", "x: parent_file\n")
    write(tmp_path, "group_vars/all.yml", "y: all_file\n")

    assert load_inventory(path).hosts["h"].vars == {"x": "parent_file", "y": "kid_inline"}


def test_host_vars_beat_group_vars_and_host_vars_files_beat_everything(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh x=host_inline y=host_inline\n")
    write(tmp_path, "group_vars/g.yml", "x: group_file\ny: group_file\nz: group_file\n")
    write(tmp_path, "host_vars/h.yml", "y: host_file\n")

    assert load_inventory(path).hosts["h"].vars == {
        "x": "host_inline",
        "y": "host_file",
        "z": "group_file",
    }


def test_merging_is_shallow_so_a_mapping_is_replaced_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh\n")
    write(tmp_path, "group_vars/all.yml", "limits: {cpu: 1, mem: 2}\n")
    write(tmp_path, "group_vars/g.yml", "limits: {cpu: 4}\n")

    assert load_inventory(path).hosts["h"].vars["limits"] == {"cpu": 4}


def test_connection_fields_follow_precedence(tmp_path: Path) -> None:
    path = write(
        tmp_path, "hosts", "[g]\nh\n[g:vars]\nansible_port=2200\n[all:vars]\nansible_user=ops\n"
    )
    write(tmp_path, "host_vars/h.yml", "ansible_port: 2201\n")

    h = load_inventory(path).hosts["h"]
    assert (h.port, h.user) == (2201, "ops")


# --- groups, views and the implicit localhost ---------------------------------------------


def test_group_members_include_child_groups_in_file_order() -> None:
    inv = load_inventory(EXAMPLES / "hosts.yml")

    assert inv.group_members("trading") == ["gw1", "gw2", "db1"]
    assert inv.groups["trading"].hosts == ()
    assert inv.hosts["db1"].groups == ("all", "trading", "db")


def test_implicit_localhost_is_one_local_host_in_all() -> None:
    inv = implicit_localhost()

    assert list(inv.hosts) == ["localhost"]
    assert inv.hosts["localhost"].connection == "local"
    assert inv.group_members("all") == ["localhost"]
    assert select_hosts(inv, "all") == [inv.hosts["localhost"]]


def test_list_view_has_the_shape_of_ansible_inventory_list() -> None:
    listed = to_ansible_list(load_inventory(EXAMPLES / "hosts.ini"))

    assert listed["all"]["children"] == ["ungrouped", "trading"]
    assert listed["trading"] == {
        "children": ["gateway", "db"],
        "vars": {"ansible_user": "drill", "component": "order-gateway"},
    }
    assert listed["gateway"]["hosts"] == ["gw1", "gw2"]
    assert "ungrouped" not in listed  # empty groups are left out, as Ansible does
    assert listed["_meta"]["hostvars"]["db1"]["ansible_port"] == 2222


def test_graph_view_has_the_shape_of_ansible_inventory_graph(tmp_path: Path) -> None:
    path = write(
        tmp_path, "hosts", "solo\n[gateway]\ngw1\ngw2\n[db]\ndb1\n[trading:children]\ngateway\ndb\n"
    )

    assert render_graph(load_inventory(path)) == textwrap.dedent(
        """\
        @all:
          |--@ungrouped:
          |  |--solo
          |--@trading:
          |  |--@gateway:
          |  |  |--gw1
          |  |  |--gw2
          |  |--@db:
          |  |  |--db1"""
    )
