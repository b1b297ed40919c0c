"""changes: --changed-from compares declarations as values between a git ref and the tree."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from orgdrift.changes import ChangeScope, changed_scope, identity
from orgdrift.errors import UsageError
from orgdrift.spec import load_spec_bytes, load_specs

BASE = """\
version: 1
defaults:
  connection: {show_as_button: true}
organizations:
  - name: acme
    display_name: Acme Inc.
    metadata: {tier: gold, region: us}
    connections:
      - name: acme-saml
      - name: google-oauth2
  - name: globex
    display_name: Globex
  - id: org_umbrella1
    display_name: Umbrella
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "auth0").mkdir()
    (tmp_path / "auth0" / "orgs.yaml").write_text(BASE, encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def scope_after(repo: Path, text: str, ref: str = "main") -> ChangeScope:
    path = repo / "auth0" / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_specs([str(path)], {})
    return changed_scope(ref, [str(path)], spec, {})


def in_scope(scope: ChangeScope) -> set[str]:
    return set(scope.changed)


def test_no_change_selects_nothing(repo: Path) -> None:
    scope = scope_after(repo, BASE)
    assert not scope.everything
    assert scope.changed == frozenset()
    assert scope.reason == "0 of 3 organizations added or changed since main"


def test_reformat_and_reorder_are_no_change(repo: Path) -> None:
    reformatted = """\
version: 1
defaults: {connection: {show_as_button: true}}
organizations:
  - id: org_umbrella1
    display_name: "Umbrella"
  - display_name: Globex
    name: globex
  # a comment
  - name: acme
    metadata:
      region: us
      tier: gold
    display_name: 'Acme Inc.'
    connections: [{name: google-oauth2}, {name: acme-saml}]
"""
    assert scope_after(repo, reformatted).changed == frozenset()


def test_an_edited_and_an_added_organization(repo: Path) -> None:
    text = BASE.replace("display_name: Globex", "display_name: Globex Corp") + "  - name: newco\n"
    scope = scope_after(repo, text)
    assert in_scope(scope) == {"name:globex", "name:newco"}
    assert scope.reason == "2 of 4 organizations added or changed since main"


def test_a_changed_default_changes_every_declaration_it_applies_to(repo: Path) -> None:
    scope = scope_after(repo, BASE.replace("show_as_button: true", "show_as_button: false"))
    assert in_scope(scope) == {"name:acme"}  # the only one with connections


def test_removed_organizations_are_named(repo: Path) -> None:
    text = BASE.split("  - name: globex")[0]
    scope = scope_after(repo, text)
    assert scope.changed == frozenset()
    assert scope.removed == ("globex", "org_umbrella1")
    assert scope.reason.endswith(", 2 removed")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("version: 1\n", "version: 1\ntenant: {domain: t.eu.auth0.com}\n"),
        lambda t: t.replace(
            "version: 1\n", "version: 1\npolicy: {unmanaged_organizations: report}\n"
        ),
    ],
)
def test_tenant_or_unmanaged_policy_puts_everything_in_scope(
    repo: Path, edit: Callable[[str], str]
) -> None:
    scope = scope_after(repo, edit(BASE))
    assert scope.everything
    assert "every organization is in scope" in scope.reason


def test_connections_policy_change_is_a_change(repo: Path) -> None:
    scope = scope_after(
        repo, BASE.replace("version: 1\n", "version: 1\npolicy: {connections: allowlist}\n")
    )
    assert in_scope(scope) == {"name:acme", "name:globex", "id:org_umbrella1"}


def test_interpolation_is_applied_before_comparing(repo: Path) -> None:
    path = repo / "auth0" / "orgs.yaml"
    path.write_text(BASE.replace("Globex\n", "${ORGDRIFT_GLOBEX}\n"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "interpolate")
    spec = load_specs([str(path)], {"ORGDRIFT_GLOBEX": "Globex"})
    assert (
        changed_scope("main", [str(path)], spec, {"ORGDRIFT_GLOBEX": "Globex"}).changed
        == frozenset()
    )
    other = {"ORGDRIFT_GLOBEX": "Globex 2"}
    assert changed_scope("HEAD~1", [str(path)], load_specs([str(path)], other), other).changed == {
        "name:globex"
    }


def test_a_file_new_since_the_ref_adds_all_its_organizations(repo: Path) -> None:
    second = repo / "auth0" / "more.yaml"
    second.write_text("version: 1\norganizations:\n  - name: hooli\n", encoding="utf-8")
    first = repo / "auth0" / "orgs.yaml"
    spec = load_specs([str(first), str(second)], {})
    scope = changed_scope("main", [str(first), str(second)], spec, {})
    assert scope.changed == {"name:hooli"}


def test_a_spec_invalid_at_the_ref_puts_everything_in_scope(repo: Path) -> None:
    path = repo / "auth0" / "orgs.yaml"
    path.write_text("version: 1\norganizations: [{nme: x}]\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "broken")
    scope = scope_after(repo, BASE, ref="HEAD")
    assert scope.everything
    assert scope.reason == "the spec could not be read at HEAD: every organization is in scope"


def test_relative_paths_from_another_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "auth0")
    (repo / "auth0" / "orgs.yaml").write_text(BASE + "  - name: newco\n", encoding="utf-8")
    spec = load_specs(["orgs.yaml"], {})
    assert changed_scope("main", ["orgs.yaml"], spec, {}).changed == {"name:newco"}


def test_unknown_ref_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="--changed-from no-such-ref: git knows no such commit"):
        scope_after(repo, BASE, ref="no-such-ref")


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "orgs.yaml"
    path.write_text(BASE, encoding="utf-8")
    spec = load_specs([str(path)], {})
    with pytest.raises(UsageError, match="is not in a git repository"):
        changed_scope("main", [str(path)], spec, {})


def test_identity_prefers_id() -> None:
    spec = load_spec_bytes("orgs.yaml", BASE.encode(), {})
    assert {identity(d) for d in spec.organizations} == {
        "name:acme",
        "name:globex",
        "id:org_umbrella1",
    }
