"""A `Plan` -> text, JSON (schemas/plan.schema.json), Markdown or a POSIX shell script of curl
requests. Pure functions; no I/O.

Every name and value in a plan comes from a spec (perhaps a pull request's) or from the tenant, so
each format escapes for its reader: control characters shown as escapes in text and comments,
Markdown and HTML characters escaped, and every shell word single-quoted (`'` as `'\\''`).
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from orgdrift import __version__
from orgdrift.errors import ExitCode
from orgdrift.models import Finding
from orgdrift.plan import NEW_ID, Manual, OrgPlan, Plan, Skipped, Step
from orgdrift.reporters._common import TOOL_NAME, json_document, plural, visible
from orgdrift.reporters.markdown import sentence  # no markup, mention, link or shortcode survives

PLAN_VERSION = 1
MARKDOWN_LIMIT = 60_000
"""Characters of Markdown at most: a pull-request comment holds 65,536, and the check's own
report shares the comment when the plan is appended to it."""


def render_plan(plan: Plan, fmt: str) -> str:
    """The plan in one of `FORMATS`."""
    return _RENDERERS[fmt](plan)


def scopes(plan: Plan) -> list[str]:
    """The scopes the plan's requests need, sorted."""
    return sorted({s.scope for s in plan.steps})


def headline(plan: Plan) -> str:
    """One sentence: what the plan holds, or why there is none."""
    failure = plan.report.failure
    if failure is not None:
        kind = "invalid input" if failure.exit_code is ExitCode.USAGE else "incomplete read"
        return f"no plan ({kind}): {failure.message}"
    steps, manual, skipped = len(plan.steps), len(plan.manual), len(plan.skipped)
    orgs = sum(1 for o in plan.organizations if o.steps)
    if not steps and not manual:
        extra = f" ({plural(skipped, 'finding')} needing no request)" if skipped else ""
        return f"nothing to do: the tenant matches the spec{extra}"
    parts = [f"{plural(steps, 'request')} for {plural(orgs, 'organization')}"]
    if manual:
        parts.append(plural(manual, "manual step"))
    if skipped:
        parts.append(f"{plural(skipped, 'finding')} needing no request")
    return "; ".join(parts)


def _json_body(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(", ", ": "))


# --- JSON ----------------------------------------------------------------------------------


def _fix_dict(fix: Finding) -> dict[str, Any]:
    """A finding a request (or a manual step) answers."""
    return {
        "kind": fix.kind.value,
        "path": fix.path,
        "message": fix.message,
        "fingerprint": fix.fingerprint,
    }


def step_dict(step: Step) -> dict[str, Any]:
    return {
        "method": step.method,
        "path": step.path,
        "body": step.body,
        "scope": step.scope,
        "captures_id": step.captures_id,
        "note": step.note,
        "fixes": [_fix_dict(f) for f in step.fixes],
    }


def _note_dict(note: Manual | Skipped) -> dict[str, Any]:
    if isinstance(note, Skipped):
        return {**_fix_dict(note.fix), "reason": note.reason}
    step = step_dict(note.step) if note.step is not None else None
    return {**_fix_dict(note.fix), "reason": note.reason, "step": step}


def _status(plan: Plan) -> str:
    failure = plan.report.failure
    if failure is not None:
        return "invalid" if failure.exit_code is ExitCode.USAGE else "incomplete"
    return "plan" if plan.exit_code is ExitCode.DRIFT else "in_sync"


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    failure = plan.report.failure
    return {
        "plan_version": PLAN_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "tenant": plan.report.tenant,
        "status": _status(plan),
        "exit_code": int(plan.exit_code),
        "allow_delete": plan.allow_delete,
        "summary": {
            "requests": len(plan.steps),
            "manual": len(plan.manual),
            "skipped": len(plan.skipped),
            "organizations": sum(1 for o in plan.organizations if o.steps),
            "scopes": scopes(plan),
        },
        "organizations": [
            {
                "name": org.name,
                "id": org.id,
                "steps": [step_dict(s) for s in org.steps],
                "manual": [_note_dict(m) for m in org.manual],
                "skipped": [_note_dict(s) for s in org.skipped],
            }
            for org in plan.organizations
        ],
        "failure": None
        if failure is None
        else {"message": failure.message, "problems": [p.render() for p in failure.problems]},
    }


def finding_remediation(plan: Plan, fingerprint: str | None) -> str | None:
    """What the plan does about one finding, in one line (None: nothing to say): its requests
    with their scopes, or why it sends none."""
    parts: list[str] = []
    for item in plan.for_finding(fingerprint):
        if isinstance(item, Step):
            parts.append(_one_line(item))
        elif isinstance(item, Manual):
            step = f": {_one_line(item.step)}" if item.step is not None else ""
            parts.append(f"manual ({item.reason}){step}")
        else:
            parts.append(f"no request: {item.reason}")
    return "; then ".join(parts) if parts else None


def _one_line(step: Step) -> str:
    body = f" {_json_body(step.body)}" if step.body is not None else ""
    return f"{step.method} {step.path}{body} [{step.scope}]"


# --- text ----------------------------------------------------------------------------------


def step_lines(step: Step, indent: str) -> list[str]:
    """A step for people: request line, body, what it fixes, its note."""
    lines = [visible(f"{step.method} {step.path}  [{step.scope}]")]
    if step.body is not None:
        lines.append(indent + visible(_json_body(step.body)))
    if step.captures_id:
        lines.append(indent + f"(its response's id is the {NEW_ID} of the steps after it)")
    lines.extend(indent + "fixes: " + visible(f.message) for f in step.fixes)
    if step.note:
        lines.append(indent + "note: " + visible(step.note))
    return lines


def render_text(plan: Plan) -> str:
    lines = [f"orgdrift plan: {visible(headline(plan))}"]
    if plan.report.failure is not None:
        lines.extend("  " + visible(p.render()) for p in plan.report.failure.problems)
        return "\n".join(lines) + "\n"
    if plan.steps:
        lines.append(f"scopes needed: {', '.join(scopes(plan))}")
    numbers = itertools.count(1)
    for org in plan.organizations:
        where = org.id if org.id is not None else "to be created"
        lines += ["", visible(f"{org.label} ({where})")]
        for step in org.steps:
            first, *rest = step_lines(step, "      ")
            lines += [f"  {next(numbers):>2}. {first}", *rest]
        for manual in org.manual:
            lines.append("  manual: " + visible(manual.fix.message))
            lines.append("      " + visible(manual.reason))
            if manual.step is not None:
                lines.append("      would send: " + step_lines(manual.step, "")[0])
        for skipped in org.skipped:
            lines.append("  no request: " + visible(f"{skipped.fix.message} ({skipped.reason})"))
    return "\n".join(lines) + "\n"


# --- Markdown ------------------------------------------------------------------------------


_LIVE_MARKS = re.compile(r"[@#]|:(?=//)|:(?=[\w+-]+:)")
"""What starts a mention, a reference, an autolink (`://`) or an emoji shortcode (`:tada:`)."""


def _html_text(text: str) -> str:
    """Text in an HTML element of the Markdown (a <summary>): escaped, and a zero-width space
    after each mark that would start a mention, reference, autolink or shortcode."""
    return _LIVE_MARKS.sub(lambda m: m.group() + "&#8203;", html.escape(visible(text)))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_in_markdown(value: Any) -> str:
    """Indented JSON for a code block, the same value, with the marks that would start a
    mention, reference, autolink or shortcode inside strings written as JSON escapes (`\\u0040`):
    a renderer that links inside code finds nothing to link."""
    return _JSON_STRING.sub(
        lambda s: _LIVE_MARKS.sub(lambda m: f"\\u{ord(m.group()):04x}", s.group()),
        json.dumps(value, indent=2, ensure_ascii=False),
    )


def _fence(text: str) -> str:
    """A code block whose fence is longer than any run of backticks in `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _md_org(org: OrgPlan, numbers: Iterator[int]) -> list[str]:
    counts = [plural(len(org.steps), "request")] if org.steps else []
    if org.manual:
        counts.append(plural(len(org.manual), "manual step"))
    if org.skipped:
        counts.append(f"{len(org.skipped)} needing no request")
    summary = _html_text(f"{org.label} ({org.id or 'to be created'})")
    lines = [f"<details><summary><b>{summary}</b>: {', '.join(counts)}</summary>", ""]
    for step in org.steps:
        request = [step.summary]
        if step.body is not None:
            request.append(_json_in_markdown(step.body))
        fixes = "; ".join(sentence(f.message) for f in step.fixes)
        note = f" ({sentence(step.note)})" if step.note else ""
        lines += [f"{next(numbers)}. `{step.scope}`: {fixes}{note}", ""]
        block = _fence(visible("\n".join(request), keep="\n"))
        lines += ["\n".join("   " + line for line in block.split("\n")), ""]
    for manual in org.manual:
        lines.append(f"- manual: {sentence(manual.fix.message)}: {sentence(manual.reason)}")
    for skipped in org.skipped:
        lines.append(f"- no request: {sentence(skipped.fix.message)} ({sentence(skipped.reason)})")
    if lines[-1]:
        lines.append("")
    return [*lines, "</details>"]


def markdown_section(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """The plan as Markdown, each organization folded, at most `limit` characters: the
    organizations that do not fit are counted, never cut in the middle."""
    head = [f"### orgdrift plan: {sentence(headline(plan))}", ""]
    if plan.report.failure is not None:
        return "\n".join(head)
    if plan.steps:
        scope_list = ", ".join(f"`{s}`" for s in scopes(plan))
        head += [
            f"Requests orgdrift would send (it sends none), in order; scopes: {scope_list}.",
            "",
        ]
    text = "\n".join(head) + "\n"
    numbers = itertools.count(1)
    left: list[OrgPlan] = []
    for org in plan.organizations:
        block = "\n".join(_md_org(org, numbers)) + "\n\n"
        if left or len(text) + len(block) > limit - 300:
            left.append(org)
            continue
        text += block
    if left:
        requests = sum(len(o.steps) for o in left)
        text += (
            f"… and {plural(len(left), 'more organization')} ({plural(requests, 'request')}) "
            "not shown here: run `orgdrift plan --format json` for the whole plan.\n"
        )
    if len(text) > limit:  # not even the heading fits: say where the plan is
        return "The plan does not fit here: run `orgdrift plan`.\n"[:limit]
    return text


# --- POSIX shell ---------------------------------------------------------------------------


def sh_quote(text: str) -> str:
    """One shell word, whatever `text` holds: single quotes, each `'` written `'\\''`."""
    return "'" + text.replace("'", "'\\''") + "'"


def _comment(text: str) -> str:
    return "# " + visible(text)


_PRELUDE = r"""set -eu

: "${AUTH0_DOMAIN:?set AUTH0_DOMAIN to the tenant (tenant.eu.auth0.com, https://HOST, or http://127.0.0.1:PORT)}"
: "${AUTH0_API_TOKEN:?set AUTH0_API_TOKEN to a Management API token with the scopes above}"

# The base URL, as orgdrift reads AUTH0_DOMAIN: a host means https; plain http only on loopback.
domain=${AUTH0_DOMAIN%/}
case $domain in
  https://*) base=$domain ;;
  http://localhost | http://localhost:* | http://127.* | http://\[::1\] | http://\[::1\]:*)
    base=$domain ;;
  *://*)
    echo "orgdrift plan: AUTH0_DOMAIN: https://HOST, or http:// only to a loopback host" >&2
    exit 2 ;;
  *) base=https://$domain ;;
esac
case ${base#*://} in
  '' | */* | *'?'* | *'#'* | *@* | *' '*)
    echo "orgdrift plan: AUTH0_DOMAIN must be a host only, without a path or query" >&2
    exit 2 ;;
esac

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The token goes to curl in a file, never on a command line that `ps` shows.
printf 'Authorization: Bearer %s\n' "$AUTH0_API_TOKEN" > "$work/auth"

# request METHOD PATH: send one request (with $body as JSON when set); stop at the first that
# fails, with its status and the API's answer.
request() {
  method=$1
  path=$2
  if [ -n "$body" ]; then
    printf '%s' "$body" > "$work/body"
    set -- --header 'Content-Type: application/json' --data-binary "@$work/body"
  else
    set --
  fi
  status=$(curl --silent --show-error --output "$work/response" --write-out '%{http_code}' \
    --request "$method" --header "@$work/auth" "$@" "$base$path") || {
    printf 'orgdrift plan: %s %s: no response (curl failed)\n' "$method" "$path" >&2
    exit 1
  }
  case $status in
    2??) printf '%s %s: %s\n' "$method" "$path" "$status" >&2 ;;
    *)
      printf 'orgdrift plan: %s %s failed with HTTP %s:\n' "$method" "$path" "$status" >&2
      cat "$work/response" >&2
      echo >&2
      exit 1 ;;
  esac
}

# send METHOD PATH: a request without a body; send_json METHOD PATH BODY: with a JSON body.
send() {
  body=
  request "$1" "$2"
}
send_json() {
  body=$3
  request "$1" "$2"
}

# new_id: the id of the organization the last request created (exactly one, else stop).
new_id() {
  ids=$(tr ',' '\n' < "$work/response" | tr '{' '\n' | tr '}' '\n' |
    sed -n 's/^[[:space:]]*"id"[[:space:]]*:[[:space:]]*"\(org_[A-Za-z0-9]*\)"[[:space:]]*$/\1/p' |
    sort -u)
  case $ids in
    '' | *[!A-Za-z0-9_]*)
      echo "orgdrift plan: cannot read the new organization's id from the response" >&2
      exit 1 ;;
  esac
  printf '%s' "$ids"
}
"""


def _sh_path(path: str, variable: str | None) -> str:
    """The path as one shell word; NEW_ID becomes the organization's variable."""
    if variable is None or NEW_ID not in path:
        return sh_quote(path)
    return f'"${variable}"'.join(sh_quote(part) for part in path.split(NEW_ID))


def _sh_step(step: Step, variable: str | None) -> list[str]:
    lines = [_comment(f.message) for f in step.fixes]
    if step.note:
        lines.append(_comment(f"note: {step.note}"))
    path = _sh_path(step.path, variable)
    if step.body is None:
        lines.append(f"send {step.method} {path}")
    else:
        body = json.dumps(step.body, ensure_ascii=True, separators=(",", ":"))
        lines.append(f"send_json {step.method} {path} {sh_quote(body)}")
    if step.captures_id and variable is not None:
        lines.append(f"{variable}=$(new_id)")
    return lines


def render_shell(plan: Plan) -> str:
    lines = [
        "#!/bin/sh",
        _comment(f"orgdrift plan: {headline(plan)}"),
        _comment(
            f"tenant: {plan.report.tenant or 'unknown'}; written by orgdrift {__version__}, "
            "which sends none of these requests itself."
        ),
    ]
    failure = plan.report.failure
    if failure is not None:
        echo = sh_quote(visible(f"orgdrift plan: {headline(plan)}"))
        return "\n".join([*lines, f"echo {echo} >&2", f"exit {int(failure.exit_code)}"]) + "\n"
    if not plan.steps:
        lines += ["echo 'orgdrift plan: nothing to send' >&2", *_sh_manual(plan), "exit 0"]
        return "\n".join(lines) + "\n"
    lines += [
        "#",
        "# Review it, then run it with the token in the environment (never in this file):",
        "#   AUTH0_DOMAIN=tenant.eu.auth0.com AUTH0_API_TOKEN=... sh plan.sh",
        _comment(f"The token needs the scopes: {' '.join(scopes(plan))}"),
        "# It stops at the first request that fails, with its status and the API's answer;",
        "# then make a new plan: a plan is for the state it was made from.",
        "",
        "# Every value below is single-quoted on purpose: nothing in it expands.",
        "# shellcheck disable=SC2016",
        _PRELUDE.rstrip("\n"),
    ]
    created = itertools.count(1)  # each organization created has its id in org_1, org_2...
    for org in plan.organizations:
        if not org.steps:
            continue
        lines += ["", _comment(f"--- {org.label} ({org.id or 'to be created'})")]
        variable = f"org_{next(created)}" if org.id is None else None
        for step in org.steps:
            lines += _sh_step(step, variable)
    lines += _sh_manual(plan)
    lines += ["", "echo 'orgdrift plan: every request succeeded' >&2"]
    return "\n".join(lines) + "\n"


def _sh_manual(plan: Plan) -> list[str]:
    lines: list[str] = []
    for org in plan.organizations:
        for manual in org.manual:
            lines.append(_comment(f"{org.label}: {manual.fix.message}: {manual.reason}"))
            if manual.step is not None:
                lines.append(_comment(f"  would send: {manual.step.summary}"))
    return ["", "# Manual steps (not sent by this script):", *lines] if lines else []


_RENDERERS: Mapping[str, Callable[[Plan], str]] = {
    "text": render_text,
    "json": lambda plan: json_document(plan_to_dict(plan)),
    "markdown": lambda plan: markdown_section(plan).rstrip("\n") + "\n",
    "shell": render_shell,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)
"""The formats of `orgdrift plan --format`."""
