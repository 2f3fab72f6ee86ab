"""Who may use the page: logins from flags, a file or the environment, and when one is needed."""

from __future__ import annotations

import pytest

from dpst.web.access import check_access, gather_logins, is_loopback, parse_login

SECRET = "s3cr:et pass"


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("studio.local", False), ("", False)],
)  # fmt: skip
def test_only_loopback_addresses_count_as_this_machine(host, loopback):
    assert is_loopback(host) is loopback


def test_a_login_is_user_colon_password_and_a_bad_one_never_shows_it():
    assert parse_login(f"ann:{SECRET}", "--auth") == ("ann", SECRET)
    for bad in (SECRET.replace(":", ""), f":{SECRET}", "ann:"):
        with pytest.raises(ValueError) as info:
            parse_login(bad, "--auth")
        assert "expected USER:PASSWORD" in str(info.value) and "s3cr" not in str(info.value)


def test_logins_come_from_flags_a_file_and_the_environment(tmp_path):
    file = tmp_path / "logins"
    file.write_text(f"# the studio\nann:{SECRET}\n\nbob:pw2\n")
    logins = gather_logins(["cy:pw3"], file, "dee:pw4\n")
    assert logins == [("cy", "pw3"), ("ann", SECRET), ("bob", "pw2"), ("dee", "pw4")]
    assert gather_logins([], None, None) == []
    file.write_text(f"ann:{SECRET}\nno password here\n")
    with pytest.raises(ValueError, match=r"--auth-file .*logins, line 2: expected") as info:
        gather_logins([], file, None)
    assert "no password here" not in str(info.value) and "s3cr" not in str(info.value)
    with pytest.raises(FileNotFoundError, match="--auth-file"):
        gather_logins([], tmp_path / "missing", None)


def test_the_network_needs_a_login_or_an_explicit_no_auth():
    check_access("127.0.0.1", [], False)
    check_access("0.0.0.0", [("ann", SECRET)], False)
    check_access("0.0.0.0", [], True)
    with pytest.raises(ValueError, match="--host 0.0.0.0 opens the page to the network: give a login"):
        check_access("0.0.0.0", [], False)
    with pytest.raises(ValueError, match="contradict"):
        check_access("0.0.0.0", [("ann", SECRET)], True)
