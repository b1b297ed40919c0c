"""Issue 17, item 6: orgdrift against a fault-injecting proxy on real sockets (tests/faultproxy.py)
between it and the loopback emulator. Under any seeded schedule of faults (paging lies, odd
bodies and numbers, deep nesting, echoed credentials, compression bombs, resets, stalls, 429s,
5xx), `orgdrift check` exits 0 or 1 only with exactly the true findings, otherwise 3 with a
message; never a traceback, never exit 4, never a credential or issued token in stdout, stderr or
a report; and within a bounded wall time.

The property runs two dozen schedules, each with a fault on a request the run makes;
ORGDRIFT_SOAK=1 runs 400 and admits stalls longer than the run's --timeout.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from orgdrift.cli import main
from orgdrift.emulator import EmulatorConfig, create_app, running_server
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.export import export_spec
from orgdrift.models import LiveOrganization, LiveState, RawObject

from .faultproxy import FAULTS, GROUPS, FaultProxy, random_schedule

# Sockets the proxy and the emulator threads drop when a client gives up mid-exchange are
# collected whenever the garbage collector runs, often during a later run: test plumbing, not
# orgdrift's (its client's connections are closed with its httpx client).
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
    ),
    pytest.mark.usefixtures("quick_back_off"),  # real sockets: the client's back-off, shortened
]

SOAK = os.environ.get("ORGDRIFT_SOAK") == "1"
SCHEDULES = 400 if SOAK else 24  # each falls on a request of the run (see _reaches)
TIMEOUT = 10.0  # the run's --timeout


WALL_LIMIT = TIMEOUT + 20.0  # a run never takes longer than this
ORGS = 120

TOKEN = f"SECRET-{uuid.uuid4()}"
CLIENT_ID = "proxy-client"
CLIENT_SECRET = f"SECRET-{uuid.uuid4()}"
ENV_VARS = (
    "AUTH0_DOMAIN",
    "AUTH0_API_TOKEN",
    "AUTH0_ACCESS_TOKEN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_AUDIENCE",
    "GITHUB_ACTIONS",
)


# --- the tenant, its spec and the true findings -------------------------------------------------


def _connection(org: int, index: int) -> RawObject:
    return {
        "connection_id": f"con_{org:08d}{index:08d}",
        "assign_membership_on_login": (org + index) % 2 == 0,
        "show_as_button": True,
        "connection": {"name": f"conn-{index}", "strategy": "auth0" if index == 0 else "samlp"},
    }


def _org(i: int) -> LiveOrganization:
    data: RawObject = {
        "id": f"org_{i:016d}",
        "name": f"org-{i:05d}",
        "display_name": f"Org {i}",
        "metadata": {"tier": "gold" if i % 2 else "silver"},
    }
    return LiveOrganization(data=data, connections=tuple(_connection(i, c) for c in range(i % 3)))


def _tenant() -> tuple[LiveState, LiveState]:
    """(what the spec declares, the drifted live tenant with an undeclared org in the middle)."""
    declared = [_org(i) for i in range(ORGS)]
    live = list(declared)
    live[3] = replace(live[3], data={**live[3].data, "display_name": "Renamed"})
    live[7] = replace(live[7], connections=(live[7].connections or ())[:-1])
    live[9] = replace(live[9], connections=(*(live[9].connections or ()), _connection(9, 7)))
    live[44] = replace(live[44], data={**live[44].data, "metadata": {"tier": "platinum"}})
    del live[20]  # declared, missing
    stray = LiveOrganization(data={"id": "org_stray00000000001", "name": "stray"}, connections=())
    live.insert(60, stray)
    return LiveState(tuple(declared)), LiveState(tuple(live))


@dataclass(frozen=True)
class World:
    name: str
    spec_file: Path
    truth: frozenset[tuple[str, str, str]]
    verdict: int
    # per grant, how many requests of each endpoint group a run with no fault makes
    requests: dict[str, Counter[str]] = field(default_factory=dict)


def _findings(document: dict[str, object]) -> frozenset[tuple[str, str, str]]:
    orgs = document["organizations"]
    assert isinstance(orgs, list)
    return frozenset((o["name"], f["kind"], f["path"]) for o in orgs for f in o["findings"])


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FaultProxy, dict[str, World]]]:
    directory = tmp_path_factory.mktemp("proxy")
    declared, live = _tenant()
    spec = export_spec(declared)
    worlds_text = {
        # unmanaged organizations ignored: the probe-then-offset listing and lookups
        "offset": spec,
        # unmanaged organizations fail the check: the checkpoint listing must be whole
        "checkpoint": spec.replace(
            "version: 1\n", "version: 1\npolicy: {unmanaged_organizations: fail}\n", 1
        ),
    }
    config = EmulatorConfig(
        tokens={TOKEN: READ_SCOPES}, clients={CLIENT_ID: (CLIENT_SECRET, READ_SCOPES)}
    )
    with running_server(create_app(live, config)) as upstream, FaultProxy(upstream) as proxy:
        worlds: dict[str, World] = {}
        for name, text in worlds_text.items():
            spec_file = directory / f"{name}.yaml"
            spec_file.write_text(text, encoding="utf-8")
            worlds[name] = World(name, spec_file, frozenset(), 0)
        yield proxy, worlds


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    files: dict[str, str]
    seconds: float


def _credentials(proxy: FaultProxy, grant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a static token (`token`) or of client credentials (`client`)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if grant == "token":
        monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    else:
        monkeypatch.setenv("AUTH0_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", CLIENT_SECRET)
        # the emulator's audience follows the Host it is reached at: the proxy forwards to it
        monkeypatch.setenv(
            "AUTH0_AUDIENCE", f"http://{proxy.upstream[0]}:{proxy.upstream[1]}/api/v2/"
        )


def _run(
    proxy: FaultProxy,
    world: World,
    grant: str,
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    verbose: bool = False,
) -> Outcome:
    _credentials(proxy, grant, monkeypatch)
    report = tmp / "report.json"
    sarif = tmp / "report.sarif"
    args = [
        "check",
        str(world.spec_file),
        "--domain",
        proxy.url,
        "--timeout",
        str(TIMEOUT),
        "--format",
        "json",
        "--report",
        f"json={report}",
        "--report",
        f"sarif={sarif}",
    ]
    if verbose:
        args.append("-v")
    capsys.readouterr()
    started = time.monotonic()
    code = main(args)
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    files = {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in tmp.iterdir()
        if p.is_file()
    }
    for path in tmp.iterdir():
        path.unlink()
    return Outcome(code, out, err, files, seconds)


def _violations(outcome: Outcome, world: World, proxy: FaultProxy) -> list[str]:
    """Every way `outcome` breaks the promise (empty: it held)."""
    problems: list[str] = []
    text = outcome.out + outcome.err + "".join(outcome.files.values())
    secrets = {TOKEN, CLIENT_SECRET} | proxy.seen_secrets
    if any(s in text for s in secrets):
        problems.append("a credential or token in the output")
    if "Traceback" in outcome.err or "never retrieved" in outcome.err:
        problems.append("a traceback")
    if outcome.seconds > WALL_LIMIT:
        problems.append(f"took {outcome.seconds:.1f} s")
    if outcome.code in (0, 1):
        if outcome.code != world.verdict:
            problems.append(f"exit {outcome.code}, the truth is {world.verdict}")
        try:
            found = _findings(json.loads(outcome.out))
        except (ValueError, KeyError, TypeError):
            problems.append("exit 0/1 without a JSON report on stdout")
        else:
            if found != world.truth:
                problems.append(f"wrong findings: {sorted(found ^ world.truth)[:4]}")
    elif outcome.code == 3:
        errors = [line for line in outcome.err.splitlines() if line.startswith("orgdrift: error: ")]
        if len(errors) != 1 or len(errors[0]) < 30:
            problems.append("exit 3 without a message")
        problems.extend(_incomplete_reports(outcome))
    else:
        problems.append(f"exit {outcome.code}")
    return problems


def _incomplete_reports(outcome: Outcome) -> list[str]:
    """Exit 3 still writes every report, and none reads as a verdict."""
    problems: list[str] = []
    if sorted(outcome.files) != ["report.json", "report.sarif"]:
        return [f"exit 3 wrote {sorted(outcome.files)}, not both reports"]
    for text in (outcome.out, outcome.files["report.json"]):
        try:
            document = json.loads(text)
        except ValueError:
            problems.append("exit 3 with a JSON report that is not JSON")
            continue
        if (document.get("status"), document.get("in_sync"), document.get("organizations")) != (
            "incomplete",
            None,
            [],
        ):
            problems.append("exit 3 with a JSON report that reads as a verdict")
    try:
        (run,) = json.loads(outcome.files["report.sarif"])["runs"]
        if run["invocations"][0]["executionSuccessful"] is not False or "results" in run:
            problems.append("exit 3 with a SARIF report that reads as a verdict")
    except (ValueError, KeyError, TypeError, IndexError):
        problems.append("exit 3 with a SARIF report of the wrong shape")
    return problems


@pytest.fixture(scope="module")
def truth(
    served: tuple[FaultProxy, dict[str, World]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, World]:
    """The verdict and findings of each world through the proxy with no fault (the same with
    either grant), and the requests each grant makes."""
    proxy, worlds = served
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("truth")
    try:
        result: dict[str, World] = {}
        for name, world in worlds.items():
            seen: dict[str, tuple[int, frozenset[tuple[str, str, str]]]] = {}
            requests: dict[str, Counter[str]] = {}
            for grant in ("token", "client"):
                proxy.reset({}, 0)
                report = tmp / "r.json"
                _credentials(proxy, grant, mp)
                code = main(
                    [
                        "check",
                        str(world.spec_file),
                        "--domain",
                        proxy.url,
                        "--format",
                        "json",
                        "--quiet",
                        "--report",
                        f"json={report}",
                    ]
                )
                document = json.loads(report.read_text(encoding="utf-8"))
                seen[grant] = (code, _findings(document))
                requests[grant] = Counter(proxy.counts)
            assert seen["token"] == seen["client"], name
            code, found = seen["token"]
            result[name] = replace(world, truth=found, verdict=code, requests=requests)
        return result
    finally:
        mp.undo()


def test_the_worlds_have_their_planted_drifts(truth: dict[str, World]) -> None:
    for world in truth.values():
        assert world.verdict == 1
        orgs = {org for org, _, _ in world.truth}
        assert {"org-00003", "org-00007", "org-00009", "org-00020", "org-00044"} <= orgs
    assert "stray" in {org for org, _, _ in truth["checkpoint"].truth}
    assert "stray" not in {org for org, _, _ in truth["offset"].truth}


# --- every family once, on the first request it can hit -----------------------------------------


def _target(fault: str, index: int) -> str:
    """The endpoint group a fault family is aimed at (transport faults take turns)."""
    if fault.startswith(("token_", "echo_oauth")):
        return "token"
    if fault in ("flag_not_bool", "connection_name_not_string"):
        return "enabled_connections"
    if fault.endswith("_404"):
        return "organization_by_id"
    if fault.startswith(
        ("total_", "drop_", "repeat_", "name_", "id_", "deep_metadata", "echo_in_200")
    ):
        return "organizations"
    return ("organizations", "enabled_connections", "organization_by_id", "token")[index % 4]


FAMILY_CASES = [
    (fault, _target(fault, index), ("offset", "checkpoint")[index % 2])
    for index, fault in enumerate(sorted(FAULTS))
    if fault != "stall_past_timeout"
]


@pytest.mark.parametrize(("fault", "group", "world_name"), FAMILY_CASES)
def test_each_fault_family_keeps_the_promise(
    fault: str,
    group: str,
    world_name: str,
    served: tuple[FaultProxy, dict[str, World]],
    truth: dict[str, World],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, _ = served
    world = truth[world_name]
    grant = "client" if group == "token" or fault.startswith("echo") else "token"
    proxy.reset({(group, n): fault for n in (1, 2)}, seed=len(fault))
    outcome = _run(proxy, world, grant, tmp_path, monkeypatch, capsys)
    assert proxy.applied[fault] > 0, f"{fault} never hit a {group} request"
    assert not _violations(outcome, world, proxy), (
        fault,
        group,
        world.name,
        outcome.code,
        outcome.err[:500],
    )


LIES_THAT_MUST_STOP_THE_CHECK = [
    ("html_404", "organization_by_id"),  # the lookup that would prove org-00020 missing
    ("empty_404", "organization_by_id"),
    ("odd_json_404", "organization_by_id"),
    ("name_not_string", "organizations"),
    ("total_nan", "organizations"),
    ("total_1e400", "organizations"),
    ("total_huge_int", "organizations"),
    ("deep_body", "organizations"),
    ("deep_metadata", "organizations"),
    ("gzip_bomb", "organizations"),
    ("oversized", "organizations"),
    ("repeat_item", "organizations"),
    ("echo_in_200", "organizations"),
    ("deep_error_503", "organizations"),
]


@pytest.mark.parametrize(("fault", "group"), LIES_THAT_MUST_STOP_THE_CHECK)
def test_lies_that_no_verdict_survives_are_exit_3(
    fault: str,
    group: str,
    served: tuple[FaultProxy, dict[str, World]],
    truth: dict[str, World],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, _ = served
    world = truth["offset"]
    proxy.reset({(group, n): fault for n in range(1, 8)}, seed=1)
    outcome = _run(proxy, world, "token", tmp_path, monkeypatch, capsys)
    assert outcome.code == 3, (fault, outcome.code, outcome.err[:400])
    assert not _violations(outcome, world, proxy)


def test_a_gzip_bomb_is_refused_within_the_cap(
    served: tuple[FaultProxy, dict[str, World]],
    truth: dict[str, World],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import resource

    proxy, _ = served
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    proxy.reset({("organizations", 1): "gzip_bomb"}, seed=1)
    outcome = _run(proxy, truth["offset"], "token", tmp_path, monkeypatch, capsys)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert outcome.code == 3 and "larger than 8 MiB once decompressed" in outcome.err, outcome.err
    assert grown_mib < 200, f"peak memory grew by {grown_mib:.0f} MiB"


def test_an_echoed_token_in_an_illegal_header_line_is_redacted(
    served: tuple[FaultProxy, dict[str, World]],
    truth: dict[str, World],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, _ = served
    proxy.reset({("organizations", n): "echo_illegal_header" for n in range(1, 10)}, seed=1)
    outcome = _run(proxy, truth["offset"], "client", tmp_path, monkeypatch, capsys, verbose=True)
    assert outcome.code == 3 and "illegal header line" in outcome.err and "***" in outcome.err, (
        outcome.err
    )
    assert not _violations(outcome, truth["offset"], proxy)


def test_10000_organizations_with_total_capped_at_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's largest case, end to end: every offset page says `total: 1000` for a tenant of
    10,000 declared organizations. Before: 9,000 false "missing". Now: in sync, by checkpoint."""
    count = 10_000
    live = LiveState(
        tuple(
            LiveOrganization({"id": f"org_{i:016d}", "name": f"org-{i:05d}"}, ())
            for i in range(count)
        )
    )
    spec = tmp_path / "big.yaml"
    spec.write_text(
        "version: 1\norganizations:\n" + "".join(f"  - name: org-{i:05d}\n" for i in range(count)),
        encoding="utf-8",
    )
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    config = EmulatorConfig(tokens={TOKEN: READ_SCOPES})
    with running_server(create_app(live, config)) as upstream, FaultProxy(upstream) as proxy:
        proxy.reset({("organizations", n): "total_window" for n in range(1, 200)}, seed=1)
        code = main(
            ["check", str(spec), "--domain", proxy.url, "--format", "json", "--timeout", "120"]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out)["summary"]["in_sync"] == count
        assert proxy.counts == Counter(organizations=1 + 100)  # the probe, then by checkpoint


# --- the property --------------------------------------------------------------------------------


def _reaches(schedule: dict[tuple[str, int], str], requests: Counter[str]) -> bool:
    """Whether a fault of `schedule` falls on a request that a run with no fault makes."""
    return any(number <= requests[group] for group, number in schedule)


def test_any_schedule_keeps_the_promise(
    served: tuple[FaultProxy, dict[str, World]],
    truth: dict[str, World],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, _ = served
    rng = random.Random(int(os.environ.get("ORGDRIFT_PROXY_SEED", "17")))
    outcomes: Counter[int] = Counter()
    applied: Counter[str] = Counter()
    violations: list[str] = []
    started = time.monotonic()
    drawn = 0
    for run in range(SCHEDULES):
        world = truth["offset" if run % 2 == 0 else "checkpoint"]
        grant = "token" if run % 4 < 2 else "client"
        while True:  # a schedule none of whose faults falls on a request of a faultless run is
            # that run again (the truth fixture's): draw another
            drawn += 1
            schedule = random_schedule(rng, slow=SOAK and rng.random() < 0.05)
            if _reaches(schedule, world.requests[grant]):
                break
        proxy.reset(schedule, seed=run)
        outcome = _run(proxy, world, grant, tmp_path, monkeypatch, capsys, verbose=run % 5 == 0)
        outcomes[outcome.code] += 1
        applied.update(proxy.applied)
        for problem in _violations(outcome, world, proxy):
            violations.append(
                f"run {run} ({world.name}, {grant}, {schedule}): {problem}: {outcome.err[:300]}"
            )
    summary = (
        f"{SCHEDULES} schedules (of {drawn} drawn) in {time.monotonic() - started:.0f} s; exit codes "
        f"{dict(sorted(outcomes.items()))}; faults applied {sum(applied.values())} times "
        f"({len(applied)} of {len(FAULTS)} kinds); violations {len(violations)}"
    )
    print(f"\nfault proxy: {summary}")
    assert not violations, summary + "\n" + "\n".join(violations[:10])
    assert len(applied) >= min(len(FAULTS) // 2, 3 * SCHEDULES // 4), summary
    assert GROUPS
