"""The worst YAML specs we could build for the loader's budget: time and peak memory of
`orgdrift validate` on each, measured with GNU time (`/usr/bin/time -v`) in its own process.

    python tests/benchmarks/bench_yaml_worst.py          # every case (about a minute)

Cases: the alias bomb padded with 1 MiB and 4 MiB of comment (the budget once grew with the
text's bytes); a bomb behind as many written values as raise the budget most (4 x them, at most
MAX_VALUES in all); MAX_VALUES written values in one flow sequence; values nested MAX_DEPTH
deep (the longest paths to record); and a 64 MiB file of one comment.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from orgdrift.yamlload import MAX_BYTES, MAX_DEPTH, MAX_VALUES, MIN_NODE_BUDGET


def bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def padded_bomb(comment_bytes: int) -> str:
    return "# " + "x" * comment_bytes + "\n" + bomb()


def bomb_behind_values() -> str:
    """Written values first (each raises the alias budget by 4), then aliases up to it: the most
    values aliases may add, MAX_VALUES in all."""
    written = MAX_VALUES // 4
    return "pad: [" + ",".join(["0"] * written) + "]\n" + bomb()


def flat_values() -> str:
    return "pad: [" + ",".join(["0"] * (MAX_VALUES - 2)) + "]\n"


def many_organizations() -> str:
    """As many valid organizations as MAX_VALUES allows (3 values each): the schema and the
    semantic checks run on every one."""
    count = MAX_VALUES // 3 - 2
    orgs = "".join(f"  - {{name: o{i}, display_name: O{i}}}\n" for i in range(count))
    return "version: 1\norganizations:\n" + orgs


def deep_values() -> str:
    """Values at MAX_DEPTH: every value's path is a tuple of 64 parts."""
    opening = "".join("[" for _ in range(MAX_DEPTH - 2))
    closing = "".join("]" for _ in range(MAX_DEPTH - 2))
    per_leaf = 100
    leaves = MAX_VALUES // (per_leaf + MAX_DEPTH)
    leaf = opening + ",".join(["0"] * per_leaf) + closing
    return "pad: [" + ",".join([leaf] * leaves) + "]\n"


def comment_only() -> str:
    return "# " + "x" * (MAX_BYTES - 16) + "\nversion: 1\n"


CASES: dict[str, Callable[[], str]] = {
    "bomb padded with 1 MiB of comment": lambda: padded_bomb(1 << 20),
    "bomb padded with 4 MiB of comment": lambda: padded_bomb(4 << 20),
    f"bomb behind {MAX_VALUES // 4:,} written values": bomb_behind_values,
    f"{MAX_VALUES - 2:,} written values (flow sequence)": flat_values,
    f"{MAX_VALUES // 3 - 2:,} organizations": many_organizations,
    f"values nested {MAX_DEPTH} deep": deep_values,
    "64 MiB of comment": comment_only,
}


def measure(text: str) -> tuple[float, float, str]:
    """(seconds, peak MB, orgdrift's last stderr line) of `orgdrift validate` on `text`."""
    with tempfile.TemporaryDirectory() as directory:
        spec = Path(directory) / "orgs.yaml"
        spec.write_text(text, encoding="utf-8")
        done = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "orgdrift", "validate", "--", str(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
    elapsed = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if elapsed is None or peak is None:
        raise SystemExit(done.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in elapsed.groups())
    said = [line for line in done.stderr.splitlines() if line.startswith(("/", "orgdrift"))]
    outcome = said[0] if said else done.stdout.strip()
    return hours * 3600 + minutes * 60 + seconds, int(peak.group(1)) / 1024, outcome[-70:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="only the cases whose name has this")
    args = parser.parse_args()
    print(
        f"MAX_VALUES {MAX_VALUES:,}, MIN_NODE_BUDGET {MIN_NODE_BUDGET:,}, MAX_BYTES {MAX_BYTES:,}"
    )
    print("| case | bytes | wall s | peak MB | outcome |\n|---|---:|---:|---:|---|")
    for name, build in CASES.items():
        if args.case and not any(part in name for part in args.case):
            continue
        text = build()
        seconds, peak, said = measure(text)
        print(f"| {name} | {len(text):,} | {seconds:.2f} | {peak:.0f} | {said} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
