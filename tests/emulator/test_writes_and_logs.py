"""The emulator's tenant log and write endpoints: each write changes the
tenant and appends a `sapi` entry shaped like Auth0's; checkpoint and search reads of the log;
`GET /logs/{id}`; scopes; log delay and retention."""

from __future__ import annotations

from typing import Any

import pytest

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
from orgdrift.emulator.app import EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES, READ_SCOPES, config_from_options
from orgdrift.emulator.tenantlog import other_entry
from orgdrift.logs import classify

from .support import FakeClock, auth, get, make_state, org_id, send_all

ORGS = "/api/v2/organizations"
LOGS = "/api/v2/logs"


def writer_app(count: int = 3, **config: Any) -> EmulatorApp:
    return create_app(
        make_state(count), EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES}, **config)
    )


def send(app: EmulatorApp, method: str, url: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"headers": auth()}
    if body is not None:
        kwargs["json"] = body
    return send_all(app, [(method, url, kwargs)])[0]


def all_logs(app: EmulatorApp) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = get(app, f"{LOGS}?from=0&take=100").json()
    return entries


def test_a_new_tenant_log_has_one_entry_and_ids_of_56_ascending_digits() -> None:
    app = writer_app()
    send(app, "PATCH", f"{ORGS}/{org_id(0)}", {"display_name": "Zero"})
    app.log.append(other_entry("s", "Success Login"))
    send(app, "DELETE", f"{ORGS}/{org_id(1)}")
    entries = all_logs(app)
    assert [e["type"] for e in entries] == ["seccft", "sapi", "s", "sapi"]
    ids = [e["log_id"] for e in entries]
    assert all(len(i) == 56 and i.isdigit() for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_every_write_changes_the_tenant_and_logs_a_sapi_entry_like_auth0() -> None:
    app = writer_app()
    created = send(
        app,
        "POST",
        ORGS,
        {
            "name": "newco",
            "enabled_connections": [
                {"connection_id": "con_0000000000000000", "assign_membership_on_login": True}
            ],
        },
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert get(app, f"{ORGS}/{new_id}").json()["name"] == "newco"
    assert [
        c["connection_id"] for c in get(app, f"{ORGS}/{new_id}/enabled_connections").json()
    ] == ["con_0000000000000000"]
    assert send(app, "PATCH", f"{ORGS}/{org_id(0)}", {"name": "renamed"}).status_code == 200
    assert get(app, f"{ORGS}/name/renamed").json()["id"] == org_id(0)
    assert (
        send(
            app,
            "POST",
            f"{ORGS}/{org_id(0)}/enabled_connections",
            {"connection_id": "con_0000000000000000"},
        ).status_code
        == 409
    )
    assert (
        send(
            app,
            "PATCH",
            f"{ORGS}/{org_id(0)}/enabled_connections/con_0000000000000001",
            {"show_as_button": False},
        ).status_code
        == 200
    )
    assert (
        send(
            app, "DELETE", f"{ORGS}/{org_id(1)}/enabled_connections/con_0000000000000001"
        ).status_code
        == 204
    )
    assert send(app, "DELETE", "/api/v2/connections/con_0000000000000000").status_code == 204
    for org in (org_id(0), org_id(1), org_id(2), new_id):
        listed = get(app, f"{ORGS}/{org}/enabled_connections").json()
        assert "con_0000000000000000" not in [c["connection_id"] for c in listed]
    assert send(app, "DELETE", f"{ORGS}/{org_id(2)}").status_code == 204
    assert get(app, f"{ORGS}/{org_id(2)}").status_code == 404

    sapi = [e for e in all_logs(app) if e["type"] == "sapi"]
    assert [(e["details"]["request"]["method"], e["details"]["request"]["path"]) for e in sapi] == [
        ("post", ORGS),
        ("patch", f"{ORGS}/{org_id(0)}"),
        ("patch", f"{ORGS}/{org_id(0)}/enabled_connections/con_0000000000000001"),
        ("delete", f"{ORGS}/{org_id(1)}/enabled_connections/con_0000000000000001"),
        ("delete", "/api/v2/connections/con_0000000000000000"),
        ("delete", f"{ORGS}/{org_id(2)}"),
    ]  # the refused POST (409) is not a successful write: no entry
    first = sapi[0]
    assert first["description"] == "Create an Organization"
    assert first["organization_id"] is None
    assert first["details"]["response"] == {"statusCode": 201, "body": created.json()}
    assert first["details"]["request"]["body"]["name"] == "newco"
    assert all(
        e["details"]["request"]["body"] == {}
        for e in sapi
        if e["details"]["request"]["method"] == "delete"
    )
    touched = classify(all_logs(app))
    assert touched.organizations == {new_id, org_id(0), org_id(2)}
    assert touched.parts == {org_id(0): {"connections"}, org_id(1): {"connections"}}
    assert touched.connections == {"con_0000000000000000"}
    assert touched.unattributable == ()


def test_writes_need_their_scopes_and_refusals_are_not_logged() -> None:
    app = create_app(make_state(2), EmulatorConfig(tokens={DEFAULT_TOKEN: READ_SCOPES}))
    calls = [
        ("POST", ORGS, "create:organizations"),
        ("PATCH", f"{ORGS}/{org_id(0)}", "update:organizations"),
        ("DELETE", f"{ORGS}/{org_id(0)}", "delete:organizations"),
        ("POST", f"{ORGS}/{org_id(0)}/enabled_connections", "create:organization_connections"),
        ("PATCH", f"{ORGS}/{org_id(0)}/enabled_connections/c", "update:organization_connections"),
        ("DELETE", f"{ORGS}/{org_id(0)}/enabled_connections/c", "delete:organization_connections"),
        ("DELETE", "/api/v2/connections/c", "delete:connections"),
        ("GET", LOGS, "read:logs"),
        ("GET", f"{LOGS}/1", "read:logs"),
    ]
    for method, url, scope in calls:
        response = send(app, method, url, {} if method != "GET" and method != "DELETE" else None)
        assert response.status_code == 403, (method, url)
        assert response.json()["message"] == f"Insufficient scope, expected any of: {scope}"
    assert len(app.log.visible()) == 1  # the seed entry only


def test_bad_write_bodies_are_400_and_unknown_ids_404() -> None:
    app = writer_app()
    assert send(app, "POST", ORGS, {"display_name": "no name"}).status_code == 400
    assert send(app, "POST", ORGS, {"name": "x", "owner": "me"}).status_code == 400
    assert send(app, "POST", ORGS, {"name": "org-00000"}).status_code == 409
    assert send(app, "PATCH", f"{ORGS}/org_nope", {"name": "y"}).status_code == 404
    assert send(app, "DELETE", "/api/v2/connections/con_nope").status_code == 404
    assert (
        send(
            app, "POST", f"{ORGS}/{org_id(0)}/enabled_connections", {"connection_id": "con_nope"}
        ).status_code
        == 404
    )
    assert len(app.log.visible()) == 1


def test_checkpoint_mode_returns_entries_strictly_newer_in_log_id_order() -> None:
    app = writer_app(count=1)
    for i in range(250):
        app.log.append(other_entry("s", f"login {i}"))
    first = all_logs(app)
    assert len(first) == 100
    after = get(app, f"{LOGS}?from={first[-1]['log_id']}&take=100&q=ignored").json()
    assert after[0]["log_id"] > first[-1]["log_id"] and len(after) == 100
    seen = first + after
    while page := get(app, f"{LOGS}?from={seen[-1]['log_id']}&take=100").json():
        seen += page
    assert len(seen) == 251
    assert get(app, f"{LOGS}?from={seen[-1]['log_id']}&take=100").json() == []


def test_search_mode_sorts_pages_filters_and_caps_at_1000() -> None:
    app = writer_app(count=1)
    send(app, "PATCH", f"{ORGS}/{org_id(0)}", {"display_name": "a"})
    app.log.append(other_entry("s", "Success Login"))
    newest = get(app, f"{LOGS}?sort=date:-1&per_page=10&page=0").json()
    assert [e["type"] for e in newest] == ["s", "sapi", "seccft"]
    assert [e["type"] for e in get(app, f"{LOGS}?q=type:sapi").json()] == ["sapi"]
    totals = get(app, f"{LOGS}?per_page=2&page=0&include_totals=true").json()
    assert (totals["total"], totals["length"], len(totals["logs"])) == (3, 2, 2)
    capped = get(app, f"{LOGS}?per_page=100&page=10")
    assert capped.status_code == 400 and capped.json()["errorCode"] == "invalid_paging"
    assert get(app, f"{LOGS}?per_page=101").status_code == 400


def test_log_by_id_and_retention_drop_the_oldest() -> None:
    app = writer_app(count=1, log_retention=3)
    oldest = all_logs(app)[0]["log_id"]
    assert get(app, f"{LOGS}/{oldest}").json()["type"] == "seccft"
    for i in range(3):
        app.log.append(other_entry("s", f"login {i}"))
    missing = get(app, f"{LOGS}/{oldest}")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found", "message": "log not found"}
    assert len(all_logs(app)) == 3


def test_log_delay_hides_entries_until_it_passes() -> None:
    clock = FakeClock()
    app = writer_app(count=1, clock=clock, log_delay_ms=5000)
    clock.advance(10)
    send(app, "PATCH", f"{ORGS}/{org_id(0)}", {"display_name": "late"})
    assert [e["type"] for e in all_logs(app)] == ["seccft"]
    clock.advance(4.9)
    assert len(all_logs(app)) == 1
    clock.advance(0.2)
    assert [e["type"] for e in all_logs(app)] == ["seccft", "sapi"]


def test_a_late_entry_gets_an_id_newer_than_every_entry_shown_before_it() -> None:
    """Ids are given at ingestion: a checkpoint taken while an entry was still hidden does
    not skip it once it shows up."""
    clock = FakeClock()
    app = writer_app(count=1, clock=clock, log_delay_ms=5000)
    clock.advance(6)  # the seed entry shows up
    send(app, "PATCH", f"{ORGS}/{org_id(0)}", {"display_name": "late"})
    checkpoint = all_logs(app)[-1]["log_id"]  # the newest shown: the seed, not the PATCH
    clock.advance(6)
    after = get(app, f"{LOGS}?from={checkpoint}&take=100").json()
    assert [e["type"] for e in after] == ["sapi"]
    assert after[0]["log_id"] > checkpoint
    # Dated at the write; digits 4-20 of its id read as the (later) ingestion time.
    written = "".join(ch for ch in after[0]["date"] if ch.isdigit())
    assert written < after[0]["log_id"][3:20]


def test_emulator_options_for_logs() -> None:
    config = config_from_options(scopes=ALL_SCOPES, log_delay_ms=250, log_retention=10)
    assert (config.log_delay_ms, config.log_retention) == (250, 10)
    assert config.tokens[DEFAULT_TOKEN] == ALL_SCOPES
    with pytest.raises(Exception, match="log_retention"):
        config_from_options(log_retention=0)


def test_other_methods_on_the_new_paths_are_auth0s_json_404() -> None:
    app = writer_app()
    for method, url in (
        ("POST", LOGS),
        ("DELETE", f"{LOGS}/1"),
        ("GET", "/api/v2/connections/c"),
        ("GET", f"{ORGS}/{org_id(0)}/enabled_connections/c"),
    ):
        response = send(app, method, url)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"] == "Not Found"
