"""``fleettop serve`` without a browser: the token rules, the command line's refusals,
and the server's guard over aiohttp's test client (the real app of
:class:`~console.collect.serve_server.FleetServer`, no console started).
The browser tests are ``tests/test_serve_browser.py``."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from console.cli import main
from console.collect.serve import (
    MIN_TOKEN,
    TOKEN_ENV,
    ServeError,
    attach_argv,
    is_loopback,
    resolve_token,
)
from console.collect.serve_server import COOKIE, FleetServer

TOKEN = "a-token-for-the-tests-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.10", False),
        ("console.example.net", False),
    ],
)
def test_only_loopback_hosts_go_without_a_token(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    token, generated = resolve_token(host, {})
    if loopback:
        assert (token, generated) == (None, False)
    else:
        assert generated is True
        assert token is not None
        assert len(token) >= MIN_TOKEN


def test_the_token_from_the_environment_is_used_everywhere_and_must_be_long() -> None:
    assert resolve_token("127.0.0.1", {TOKEN_ENV: TOKEN}) == (TOKEN, False)
    assert resolve_token("0.0.0.0", {TOKEN_ENV: TOKEN}) == (TOKEN, False)
    assert resolve_token("0.0.0.0", {}) != resolve_token("0.0.0.0", {})  # random
    with pytest.raises(ServeError, match="shorter than 16"):
        resolve_token("0.0.0.0", {TOKEN_ENV: "short"})


def test_every_tab_runs_attach_with_read_only_passed_through() -> None:
    argv = attach_argv("mqtt://broker:1883", read_only=True)
    assert argv[1:] == ["-m", "console.cli", "attach", "mqtt://broker:1883", "--read-only"]
    assert "--read-only" not in attach_argv("mqtt://broker", read_only=False)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["serve"], {}, "give the broker's URL or --demo"),
        (["serve", "mqtt://broker", "--demo"], {}, "give the broker's URL or --demo"),
        (["serve", "--host", "0.0.0.0", "mqtt://b"], {TOKEN_ENV: "short"}, "shorter than 16"),
        (["serve", "mqtt://alice:secret@broker"], {}, "FLEETTOP_MQTT_PASSWORD"),
        (["serve", "--public-url", "ftp://x", "mqtt://b"], {}, "not an http:// or https://"),
    ],
)
def test_serve_refuses_to_start_with_one_line(
    argv: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("fleettop serve: ")
    assert "Traceback" not in err
    assert "secret" not in err


Client = TestClient[web.Request, web.Application]


async def _client(server: FleetServer) -> Client:
    client: Client = TestClient(TestServer(await server._make_app()))
    await client.start_server()
    return client


def _server(token: str | None, *, show: bool = False, public: str | None = None) -> FleetServer:
    return FleetServer(
        ["python", "-m", "console.cli", "attach", "mqtt://b"],
        host="0.0.0.0",
        port=8000,
        token=token,
        show_token=show,
        public_url=public,
    )


async def test_the_guard_checks_the_token_before_the_page_then_a_cookie() -> None:
    server = _server(TOKEN, show=True)
    client = await _client(server)
    try:
        line = server.where()
        assert "?token=" + TOKEN in line  # generated: printed once, in the URL
        assert "0.0.0.0" not in line  # where browsers go: this host's name
        for path in ("/", "/?token=wrong", "/ws", "/static/js/textual.js"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 403, path
            assert "a valid token is required" in await response.text()
        response = await client.get(f"/?token={TOKEN}&fontsize=14", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/?fontsize=14"  # the token out of the address
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}={TOKEN};")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        page = await client.get("/", cookies={COOKIE: TOKEN})
        assert page.status == 200
        assert 'data-session-websocket-url="ws://127.0.0.1:' in await page.text()
        foreign = await client.get(
            "/ws", cookies={COOKIE: TOKEN}, headers={"Origin": "http://attacker.example"}
        )
        assert foreign.status == 403
    finally:
        await client.close()


async def test_a_token_from_the_environment_is_not_printed_and_loopback_needs_none() -> None:
    assert TOKEN not in _server(TOKEN, show=False).where()
    server = _server(None)
    assert "token" not in server.where()
    client = await _client(server)
    try:
        assert (await client.get("/")).status == 200
    finally:
        await client.close()


async def test_behind_a_proxy_the_public_url_gives_the_addresses_and_a_secure_cookie() -> None:
    """``--public-url https://fleet.example.net/noc``: the token's redirect keeps the
    sub-path, the cookie is ``Secure``, the page's websocket is ``wss://`` there, and
    a websocket from that origin is let through the guard (the browser's own)."""
    server = _server(TOKEN, public="https://fleet.example.net/noc")
    assert server.where().startswith("fleettop serve: https://fleet.example.net/noc/ ")
    client = await _client(server)
    try:
        response = await client.get(f"/?token={TOKEN}", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/noc/"
        assert "Secure" in response.headers["Set-Cookie"]
        page = await client.get("/", cookies={COOKIE: TOKEN})
        assert 'data-session-websocket-url="wss://fleet.example.net/noc/ws"' in await page.text()
        foreign = await client.get(
            "/ws", cookies={COOKIE: TOKEN}, headers={"Origin": "https://elsewhere.example"}
        )
        assert foreign.status == 403
        own = await client.get(
            "/ws", cookies={COOKIE: TOKEN}, headers={"Origin": "https://fleet.example.net"}
        )
        assert own.status != 403  # past the guard (not a websocket handshake: refused later)
    finally:
        await client.close()
