"""`engine user`: add, check, change, remove and list administrator accounts."""

from __future__ import annotations

import pytest


@pytest.fixture
def admins(cli):
    (cli.tmp_path / "pw1").write_text("first password\n")
    (cli.tmp_path / "pw2").write_text("second password\n")
    return "admins"


def user(cli, action, name, password_file=None, *extra):
    argv = ["user", action, "admins", name, *extra]
    if password_file:
        argv += ["--password-file", password_file]
    return cli(*argv)


def test_add_then_check_exits_zero_for_the_right_password(cli, admins):
    assert user(cli, "add", "root", "pw1", "--rounds", 4) == 0
    assert user(cli, "check", "root", "pw1") == 0
    assert "password verified" in cli.out


def test_check_exits_one_for_a_wrong_password_or_unknown_user(cli, admins):
    user(cli, "add", "root", "pw1", "--rounds", 4)
    assert user(cli, "check", "root", "pw2") == 1
    assert user(cli, "check", "nobody", "pw1") == 1


def test_add_existing_user_fails_with_one_line(cli, admins):
    user(cli, "add", "root", "pw1", "--rounds", 4)
    cli.fails("user", "add", "admins", "root", "--password-file", "pw2", match="already exists")


def test_change_then_remove(cli, admins):
    user(cli, "add", "root", "pw1", "--rounds", 4)
    user(cli, "add", "ops", "pw1", "--rounds", 4)
    assert user(cli, "change", "root", "pw2", "--rounds", 4) == 0
    assert user(cli, "check", "root", "pw2") == 0
    assert user(cli, "remove", "root") == 0
    assert cli("user", "list", "admins") == 0
    assert cli.out.splitlines() == ["ops"]


def test_remove_unknown_user_fails(cli, admins):
    user(cli, "add", "root", "pw1", "--rounds", 4)
    cli.fails("user", "remove", "admins", "ghost", match="no user 'ghost'")


def test_check_against_a_missing_file_fails(cli, admins):
    cli.fails("user", "check", "admins", "root", "--password-file", "pw1",
              match="does not exist")


def test_bad_cost_fails(cli, admins):
    cli.fails("user", "add", "admins", "root", "--password-file", "pw1", "--rounds", 3,
              match="cost")


@pytest.mark.parametrize("action", ["add", "check", "change", "remove", "list"])
def test_every_user_command_has_help(cli, action):
    with pytest.raises(SystemExit) as info:
        cli("user", action, "--help")
    assert info.value.code == 0
