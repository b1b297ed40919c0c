"""Benchmark: load a 10,000-organization spec and break the time down by stage.

Run as `python tests/benchmarks/bench_spec_load.py [--orgs N] [--repeat R]` from the repository
root. It writes a realistic spec (display name, metadata, branding, 3 connections per
organization) to a temporary directory, times `load_specs` end to end (median of R runs), then
times each stage on its own with the same functions `load_specs` calls.

It also times the alternatives the loader and the schema check were chosen over: PyYAML's own
node tree and `SafeConstructor` (CSafeLoader) with a table of marks built from the nodes, and
jsonschema validating every organization without jsonschema-rs's fast "valid?" first.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, SequenceNode

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


def parse(text: str) -> int:
    """Events only, from the parser `load_yaml` uses: the floor for any loader on PyYAML."""
    parser = yamlload._Parser(text)
    count = 0
    try:
        while parser.get_event() is not None:
            count += 1
            if parser.check_event(yaml.StreamEndEvent):
                return count
    finally:
        parser.dispose()
    return count


def node_tree_load(text: str) -> tuple[object, dict[object, object], dict[object, object]]:
    """The alternative to the event builder: PyYAML composes its node tree (libyaml), a walk
    of the nodes records the mark of every value and key and refuses duplicate keys, and
    PyYAML's SafeConstructor builds the values. Aliases and merge keys are PyYAML's own."""
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
        values: dict[object, object] = {}
        keys: dict[object, object] = {}
        stack = [(root, ())]
        while stack:
            node, path = stack.pop()
            values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
            if isinstance(node, MappingNode):
                loader.flatten_mapping(node)
                seen: set[str] = set()
                for key, value in node.value:
                    if key.value in seen:
                        raise ValueError(f"duplicate key {key.value!r}")
                    seen.add(key.value)
                    child = (*path, key.value)
                    keys[child] = (key.start_mark.line + 1, key.start_mark.column + 1)
                    stack.append((value, child))
            elif isinstance(node, SequenceNode):
                stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        return loader.construct_document(root), values, keys
    finally:
        loader.dispose()


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak memory allocated by Python while `fn` runs (tracemalloc), in MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


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
        t_parse, _ = timed(lambda: parse(text), args.repeat)
        t_load, _ = timed(lambda: yamlload.load_yaml(file, text), args.repeat)
        rows.append(("read + decode", t_read))
        rows.append(("parse (libyaml events)", t_parse))
        rows.append(("build values + marks from events", t_load - t_parse))
        mem_load = peak_mib(lambda: yamlload.load_yaml(file, text))
        mem_spec = peak_mib(lambda: spec_module.load_specs([file], ENV))

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

        # The alternatives (once each: they are the slow ones).
        t_tree, tree = timed(lambda: node_tree_load(text), 1)
        assert tree[0] == yamlload.load_yaml(file, text).data
        mem_tree = peak_mib(lambda: node_tree_load(text))
        t_jsonschema, errors = timed(
            lambda: list(spec_module._validator().iter_errors(doc.data)), 1
        )
        assert errors == []

    print(f"spec: {args.orgs} organizations, {size / 1e6:.1f} MB; median of {args.repeat}")
    print(f"{'stage':<36}{'seconds':>10}{'share':>8}")
    staged = sum(t for _, t in rows)
    for name, seconds in rows:
        print(f"{name:<36}{seconds:>10.3f}{seconds / staged:>8.0%}")
    print(f"{'sum of stages':<36}{staged:>10.3f}")
    print(f"{'load_specs end to end':<36}{total:>10.3f}")
    print(
        f"peak memory: load_yaml {mem_load:.0f} MiB ({mem_load * 2**20 / size:.0f}x the file),"
        f" load_specs {mem_spec:.0f} MiB ({mem_spec * 2**20 / size:.0f}x)"
    )
    print(
        f"alternatives: PyYAML node tree + SafeConstructor + mark walk {t_tree:.3f} s,"
        f" peak {mem_tree:.0f} MiB (event builder: {t_load:.3f} s, {mem_load:.0f} MiB);"
        f" jsonschema alone {t_jsonschema:.3f} s (with jsonschema-rs first: {t_schema:.3f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
