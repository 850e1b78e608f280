"""Logging in and out over engine's TLS: sessions, cookies, CSRF, throttling, the audit log."""

from __future__ import annotations

import json
import os

import pytest

from engine.console.throttle import LoginThrottle

from .conftest import ADAM_PASSWORD, client, csrf_token, login, serving


@pytest.fixture(scope="module")
def server(console_dir):
    with serving(console_dir, throttle=LoginThrottle(limit=1000)) as running:
        yield running


def audit_entries(directory) -> list:
    with open(os.path.join(directory.path, "audit.log")) as fh:
        return [json.loads(line) for line in fh]


def test_a_page_sends_the_anonymous_to_the_login_page(console_dir, server):
    with client(console_dir, server) as http:
        response = http.get("/certificates")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_the_crl_and_the_ca_certificate_are_public(console_dir, server):
    with client(console_dir, server) as http:
        assert http.get("/crl.pem").text.startswith("-----BEGIN X509 CRL-----")
        with open(console_dir.ca_certificate_path) as fh:
            assert http.get("/ca.pem").text == fh.read()


def test_a_wrong_password_is_refused_and_audited(console_dir, server):
    with client(console_dir, server) as http:
        response = login(http, password="not adam's password")
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text
        assert http.get("/", follow_redirects=False).status_code == 303
    last = audit_entries(console_dir)[-1]
    assert (last["who"], last["action"], last["address"]) == ("adam", "login failed", "127.0.0.1")


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(console_dir, server):
    with client(console_dir, server) as http:
        unknown = login(http, name="mallory", password="whatever")
        known = login(http, password="whatever")
    assert unknown.status_code == known.status_code == 401
    assert unknown.text == known.text


def test_the_right_password_opens_a_session_with_a_strict_secure_cookie(console_dir, server):
    with client(console_dir, server) as http:
        response = login(http)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=strict" in flags
        assert any(flag.startswith("max-age=") for flag in flags)
        page = http.get("/")
    assert page.status_code == 200
    assert '<span id="who">adam</span>' in page.text
    last = audit_entries(console_dir)[-1]
    assert (last["who"], last["action"], last["method"]) == ("adam", "login", "password")


def test_the_login_form_needs_its_csrf_token(console_dir, server):
    with client(console_dir, server) as http:
        http.get("/login")
        missing = http.post("/login", data={"username": "adam", "password": ADAM_PASSWORD})
        wrong = http.post("/login", data={"username": "adam", "password": ADAM_PASSWORD,
                                          "csrf_token": "0" * 64})
        assert missing.status_code == wrong.status_code == 403
        assert http.get("/", follow_redirects=False).status_code == 303


def test_a_token_from_another_session_is_refused(console_dir, server):
    with client(console_dir, server) as other:
        foreign = csrf_token(other.get("/login").text)
    with client(console_dir, server) as http:
        http.get("/login")
        response = http.post("/login", data={"username": "adam", "password": ADAM_PASSWORD,
                                             "csrf_token": foreign})
    assert response.status_code == 403


def test_a_cross_site_form_is_refused(console_dir, server):
    with client(console_dir, server) as http:
        token = csrf_token(http.get("/login").text)
        response = http.post("/login", headers={"sec-fetch-site": "cross-site"}, data={
            "username": "adam", "password": ADAM_PASSWORD, "csrf_token": token})
    assert response.status_code == 403


def test_a_forged_cookie_is_an_anonymous_visitor(console_dir, server):
    with client(console_dir, server) as http:
        login(http)
        value = http.cookies["console_session"]
        assert http.get("/", follow_redirects=False).status_code == 200
    forged = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    with client(console_dir, server) as other:
        response = other.get("/", headers={"cookie": "console_session=" + forged},
                             follow_redirects=False)
    assert response.status_code == 303


def test_logout_ends_the_session_even_for_a_copy_of_its_cookie(console_dir, server):
    with client(console_dir, server) as http:
        login(http)
        saved = http.cookies["console_session"]
        with client(console_dir, server) as copy:
            assert copy.get("/", headers={"cookie": "console_session=" + saved},
                            follow_redirects=False).status_code == 200
        response = http.post("/logout", data={"csrf_token": csrf_token(http.get("/").text)})
        assert response.status_code == 303 and response.headers["location"] == "/login"
    with client(console_dir, server) as replay:
        response = replay.get("/", headers={"cookie": "console_session=" + saved},
                              follow_redirects=False)
    assert response.status_code == 303
    assert audit_entries(console_dir)[-1]["action"] == "logout"


def test_no_password_reaches_the_audit_log(console_dir, server):
    with client(console_dir, server) as http:
        login(http, password="a secret typed wrongly")
        login(http)
    with open(os.path.join(console_dir.path, "audit.log")) as fh:
        text = fh.read()
    assert "a secret typed wrongly" not in text and ADAM_PASSWORD not in text


# --- throttling: a server of its own for each test, as it counts per address ---------------

def test_failures_for_one_user_block_that_user_from_every_address(console_dir):
    with serving(console_dir, throttle=LoginThrottle(limit=3)) as server:
        with client(console_dir, server, "127.0.0.1") as http:
            for _ in range(3):
                assert login(http, password="guess").status_code == 401
            assert login(http).status_code == 429
        with client(console_dir, server, "::1") as http:
            blocked = login(http)
            assert blocked.status_code == 429
            assert "Too many failed logins" in blocked.text
    assert audit_entries(console_dir)[-1]["action"] == "login throttled"


def test_failures_from_one_address_block_that_address_for_every_name(console_dir):
    with serving(console_dir, throttle=LoginThrottle(limit=3)) as server:
        with client(console_dir, server, "127.0.0.1") as http:
            for name in ("root", "admin", "mallory"):
                assert login(http, name=name, password="guess").status_code == 401
            assert login(http).status_code == 429
        with client(console_dir, server, "::1") as http:
            assert login(http).status_code == 303


def test_unknown_and_known_names_are_throttled_alike(console_dir):
    with serving(console_dir, throttle=LoginThrottle(limit=2)) as server:
        with client(console_dir, server, "127.0.0.1") as http:
            answers = [login(http, name="nobody", password="guess").status_code
                       for _ in range(3)]
        with client(console_dir, server, "::1") as http:
            answers_known = [login(http, password="guess").status_code for _ in range(3)]
    assert answers == answers_known == [401, 401, 429]
