"""Benchmark: load a 10,000-organization spec and break the time down by stage.

Run as `python tests/benchmarks/bench_spec_load.py [--orgs N] [--repeat R]` from the repository
root. It writes a realistic spec (display name, metadata, branding, 3 connections per
organization) to a temporary directory, times `load_specs` end to end (median of R runs), then
times each stage on its own with the same functions `load_specs` calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orgdrift import spec as spec_module
from orgdrift import yamlload

T = TypeVar("T")
ENV = {"AUTH0_DOMAIN": "example.eu.auth0.com", "ORGDRIFT_REGION": "eu"}


def generate(count: int) -> str:
    """A spec of `count` organizations shaped like a real one."""
    lines = [
        "# yaml-language-server: $schema=../schemas/orgdrift.schema.json",
        "version: 1",
        "tenant:",
        "  domain: ${AUTH0_DOMAIN}",
        "policy:",
        "  connections: exact",
        "  unmanaged_organizations: report",
        "defaults:",
        "  connection:",
        "    show_as_button: true",
        "organizations:",
    ]
    tiers = ("gold", "silver", "bronze")
    for i in range(count):
        lines += [
            f"  - name: customer-{i:05d}",
            f"    display_name: Customer {i:05d} Ltd.",
            "    branding:",
            f"      logo_url: https://cdn.example.com/logos/customer-{i:05d}.png",
            f'      colors: {{primary: "#{i % 4096:03x}", page_background: "#ffffff"}}',
            (
                f'    metadata: {{tier: {tiers[i % 3]}, region: "${{ORGDRIFT_REGION}}",'
                f' account: "A-{i:07d}"}}'
            ),
            "    connections:",
            f"      - name: customer-{i:05d}-saml",
            "        assign_membership_on_login: true",
            "      - name: Username-Password-Authentication",
            "        is_signup_enabled: false",
            "      - name: google-oauth2",
        ]
        if i % 10 == 0:
            lines.insert(len(lines) - 11, f"    id: org_{i:016d}")
    return "\n".join(lines) + "\n"


def compose(text: str) -> yaml.Node | None:
    """Compose only, with the loader `load_yaml` uses."""
    loader = yamlload._Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median wall time of `repeat` calls, and the last result."""
    times: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orgs.yaml"
        path.write_text(generate(args.orgs), encoding="utf-8")
        size = path.stat().st_size
        file = str(path)
        rows: list[tuple[str, float]] = []

        total, spec = timed(lambda: spec_module.load_specs([file], ENV), args.repeat)
        assert len(spec.organizations) == args.orgs

        raw = path.read_bytes()
        t_read, text = timed(lambda: yamlload.read_text(file, raw), args.repeat)
        t_compose, _ = timed(lambda: compose(text), args.repeat)
        t_load, _ = timed(lambda: yamlload.load_yaml(file, text), args.repeat)
        rows.append(("read + decode", t_read))
        rows.append(("compose (libyaml, nodes + marks)", t_compose))
        rows.append(("conversion (nodes -> values)", t_load - t_compose))

        def fresh() -> yamlload.LoadedDocument:
            return yamlload.load_yaml(file, text)

        docs = [fresh() for _ in range(args.repeat)]
        t_interp, _ = timed(lambda: spec_module._interpolate(docs.pop(), ENV), args.repeat)
        doc = fresh()
        spec_module._interpolate(doc, ENV)
        t_schema, problems = timed(lambda: spec_module._schema_problems(doc), args.repeat)
        assert problems == [], problems[:3]
        t_file, _ = timed(lambda: spec_module._file_problems(doc), args.repeat)
        source = spec_module._Source(doc, "0" * 64)
        t_cross, _ = timed(lambda: spec_module._cross_file_problems([source]), args.repeat)
        t_build, _ = timed(lambda: spec_module._build([source]), args.repeat)
        rows += [
            ("interpolation", t_interp),
            ("schema validation", t_schema),
            ("semantic checks", t_file + t_cross),
            ("build Spec", t_build),
        ]

    print(f"spec: {args.orgs} organizations, {size / 1e6:.1f} MB; median of {args.repeat}")
    print(f"{'stage':<36}{'seconds':>10}{'share':>8}")
    staged = sum(t for _, t in rows)
    for name, seconds in rows:
        print(f"{name:<36}{seconds:>10.3f}{seconds / staged:>8.0%}")
    print(f"{'sum of stages':<36}{staged:>10.3f}")
    print(f"{'load_specs end to end':<36}{total:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
