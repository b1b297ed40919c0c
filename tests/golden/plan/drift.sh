#!/bin/sh
# orgdrift plan: 2 requests for 2 organizations; 1 manual step; 1 finding needing no request
# tenant: <tenant>; written by orgdrift 0.1.0, which sends none of these requests itself.
#
# Review it, then run it with the token in the environment (never in this file):
#   AUTH0_DOMAIN=tenant.eu.auth0.com AUTH0_API_TOKEN=... sh plan.sh
# The token needs the scopes: update:organization_connections update:organizations
# It stops at the first request that fails, with its status and the API's answer;
# then make a new plan: a plan is for the state it was made from.

# Every value below is single-quoted on purpose: nothing in it expands.
# shellcheck disable=SC2016
set -eu

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

# --- globex (org_Gl0bexN5kW8dYc3H)
# display_name is "Globex Corp (legacy)", expected "Globex Corporation"
send_json PATCH '/api/v2/organizations/org_Gl0bexN5kW8dYc3H' '{"display_name":"Globex Corporation"}'

# --- initech (org_In1tech6Vb2Qm8Ts)
# connection initech-okta: assign_membership_on_login is false, expected true
send_json PATCH '/api/v2/organizations/org_In1tech6Vb2Qm8Ts/enabled_connections/con_In1techOkta0003' '{"assign_membership_on_login":true}'

# Manual steps (not sent by this script):
# acme: connection google-oauth2 is enabled but not allowed: a delete, planned only with --allow-delete (or AUTH0_ALLOW_DELETE=true)
#   would send: DELETE /api/v2/organizations/org_Ac7mEq2LxT9pRz4K/enabled_connections/con_G00gleOauth2x01

echo 'orgdrift plan: every request succeeded' >&2
