# Shared helpers for the provisioning scripts (sourced, not run). Needs bash, curl and jq.
#
# Secrets never appear on a command line (where `ps` shows them): the Management token reaches curl
# as a header file through process substitution, client secrets through --data-urlencode name@file.
# Nothing here prints the Management token.

set -euo pipefail

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

note() {
  printf '%s\n' "$*" >&2
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (install it, e.g. apt-get install $tool / brew install $tool)"
  done
}

# need VAR... — each variable must be set and non-empty.
need() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "$name is not set (see the top of $(basename "$0") for the variables it reads)"
  done
}

# The tenant origin from AUTH0_DOMAIN: "tenant.eu.auth0.com" → https://tenant.eu.auth0.com.
# http:// is accepted only for this machine, the local emulator: the host must be exactly 127.x.y.z
# (four numeric octets), localhost or [::1], with an optional :port and nothing after it but an
# optional "/" — a prefix test would let http://127.evil.example or http://localhost.evil.com
# through, and the Management token would travel in clear to another host.
LOOPBACK_HTTP='^http://(127\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){2}|localhost|\[::1\])(:[0-9]{1,5})?/?$'

tenant_origin() {
  local d="$AUTH0_DOMAIN"
  case "$d" in
    https://*) d="${d%/}" ;;
    http://*)
      [[ "$d" =~ $LOOPBACK_HTTP ]] \
        || die "AUTH0_DOMAIN=$AUTH0_DOMAIN: http:// is allowed only for 127.0.0.1, localhost or [::1], with an optional port and no path (tokens must travel over TLS)"
      d="${d%/}" ;;
    *://*) die "AUTH0_DOMAIN=$AUTH0_DOMAIN: use https://" ;;
    *) d="https://${d%/}" ;;
  esac
  case "${d#*://}" in
    ""|*/*|*\?*|*#*|*@*) die "AUTH0_DOMAIN=$AUTH0_DOMAIN must be a bare domain (no path, query or user)" ;;
  esac
  printf '%s' "$d"
}

urlencode() {
  jq -rn --arg v "$1" '$v | @uri'
}

# _curl ARGS... — curl with the Management token as a header read from a file descriptor.
_curl() {
  curl -sS -H @<(printf 'Authorization: Bearer %s\n' "$AUTH0_MGMT_TOKEN") -H 'Accept: application/json' "$@"
}

# api METHOD PATH [JSON_BODY] — one Management API call (PATH under /api/v2). Prints the response body.
# A 429 waits as Retry-After / X-RateLimit-Reset say (at most 3 times, at most 30 s each); any other
# non-2xx status exits 1 with the API's error body on stderr. With API_ALLOW_404=1, a 404 prints
# nothing and succeeds ("there is none").
api() {
  local method="$1" path="$2" body="${3-}" attempt status wait reset tmp
  tmp="$(mktemp -d)"
  for attempt in 1 2 3 4; do
    if [ -n "$body" ]; then
      status="$(printf '%s' "$body" | _curl -X "$method" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary @- "$ORIGIN/api/v2$path")" \
        || { rm -rf "$tmp"; die "$method /api/v2$path: could not reach $ORIGIN"; }
    else
      status="$(_curl -X "$method" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$ORIGIN/api/v2$path")" \
        || { rm -rf "$tmp"; die "$method /api/v2$path: could not reach $ORIGIN"; }
    fi
    [ "$status" = 429 ] && [ "$attempt" -lt 4 ] || break
    wait="$(tr -d '\r' <"$tmp/headers" | awk -F': *' 'tolower($1)=="retry-after"{print $2}' | head -n1)"
    if ! [[ "$wait" =~ ^[0-9]+$ ]]; then
      reset="$(tr -d '\r' <"$tmp/headers" | awk -F': *' 'tolower($1)=="x-ratelimit-reset"{print $2}' | head -n1)"
      if [[ "$reset" =~ ^[0-9]+$ ]]; then wait=$((reset - $(date +%s) + 1)); else wait=$attempt; fi
    fi
    [ "$wait" -lt 1 ] && wait=1
    [ "$wait" -gt 30 ] && wait=30
    note "rate limited on $method /api/v2$path; waiting ${wait}s"
    sleep "$wait"
  done
  if [ "$status" = 404 ] && [ "${API_ALLOW_404:-}" = 1 ]; then
    rm -rf "$tmp"
    return 0
  fi
  if [ "${status:0:1}" != 2 ]; then
    note "error: $method /api/v2$path answered HTTP $status:"
    cat "$tmp/body" >&2
    printf '\n' >&2
    rm -rf "$tmp"
    exit 1
  fi
  cat "$tmp/body"
  rm -rf "$tmp"
}

api_find() {
  API_ALLOW_404=1 api GET "$1"
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}

# action_id_by_name NAME — the id of the custom-token-exchange Action named NAME, or nothing. (Run in
# $(…), where set -e does not reach: a refused listing must still stop the script.)
action_id_by_name() {
  local listing
  listing="$(api GET "/actions/actions?triggerId=custom-token-exchange&actionName=$(urlencode "$1")")" || exit 1
  jq -r --arg n "$1" '[.actions[]? | select(.name == $n)][0].id // empty' <<<"$listing"
}

# poll_action ID NAME JQ_CONDITION WHAT — polls the Action until the condition holds (at most 180 s);
# exits 1 with the build's errors when it fails to build.
poll_action() {
  local id="$1" name="$2" condition="$3" what="$4" deadline=$(($(date +%s) + 180)) delay=0.25 state
  while :; do
    state="$(api GET "/actions/actions/$id")"
    if [ "$(jq -r "$condition" <<<"$state")" = true ]; then printf '%s' "$state"; return 0; fi
    if [ "$(jq -r .status <<<"$state")" = failed ]; then
      note "error: the Action $name ($id) failed to build:"
      jq -c '.errors // [{msg: "(the tenant gave no reason; see Dashboard → Actions → Library)"}]' <<<"$state" >&2
      exit 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "the Action $name ($id) was not $what after 180 s (status $(jq -r .status <<<"$state"))"
    sleep "$delay"
    delay=1
  done
}

# build_and_deploy ID NAME — waits for the build, deploys, waits until the new version is live.
build_and_deploy() {
  local id="$1" name="$2" version
  note "waiting for the build…"
  poll_action "$id" "$name" '.status == "built"' built >/dev/null
  note "deploying…"
  version="$(api POST "/actions/actions/$id/deploy" | jq -r '.id')"
  poll_action "$id" "$name" "(.deployed_version.id == \"$version\") and (.deployed_version.deployed == true)" deployed >/dev/null
  note "the Action $name ($id) is deployed"
}

# action_is_current CURRENT_JSON DESIRED_JSON — "true" when the deployed Action already has the desired
# code, runtime, dependencies and secret names (equal code means equal secrets: the digest marker).
action_is_current() {
  jq -n --argjson a "$1" --argjson d "$2" '
    ($a.code == $d.code) and ($a.runtime == $d.runtime)
    and (($a.dependencies // []) | map("\(.name)@\(.version)") | sort) == ($d.dependencies | map("\(.name)@\(.version)") | sort)
    and (($a.secrets // []) | map(.name) | sort) == ($d.secrets | map(.name) | sort)
    and ($a.status != "failed")'
}

# action_is_live CURRENT_JSON — "true" when its latest version is deployed.
action_is_live() {
  jq -r '(.deployed_version.deployed == true) and (.all_changes_deployed != false)' <<<"$1"
}

# upsert_action LABEL ID CURRENT_JSON DESIRED_JSON — creates the Action $ACTION_NAME (no ID yet) or
# updates it when it differs from DESIRED, then builds and deploys it, unless it is already current and
# live; prints its id. LABEL names it in the notes ("Action", "CI Action").
upsert_action() {
  local label="$1" id="$2" current="$3" desired="$4" body
  if [ -z "$id" ]; then
    note "creating the $label $ACTION_NAME"
    body="$(jq -c --arg n "$ACTION_NAME" '. + {name: $n, supported_triggers: [{id: "custom-token-exchange", version: "v1"}]}' <<<"$desired")"
    id="$(api POST /actions/actions "$body" | jq -r .id)"
  elif [ "$(action_is_current "$current" "$desired")" = true ]; then
    # Equal code means equal secrets too (the marker); secret names are compared as well.
    if [ "$(action_is_live "$current")" = true ]; then
      note "the $label $ACTION_NAME ($id) is up to date and deployed"
      printf '%s\n' "$id"
      return 0
    fi
  else
    note "updating the $label $ACTION_NAME ($id)"
    api PATCH "/actions/actions/$id" "$desired" >/dev/null
  fi
  build_and_deploy "$id" "$ACTION_NAME"
  printf '%s\n' "$id"
}

# all_profiles — every Token Exchange Profile, as one JSON array (checkpoint pagination).
all_profiles() {
  local profiles='[]' from='' page
  while :; do
    page="$(api GET "/token-exchange-profiles?take=100${from:+&from=$(urlencode "$from")}")" || exit 1
    profiles="$(jq -c --argjson acc "$profiles" '$acc + (.token_exchange_profiles // [])' <<<"$page")"
    from="$(jq -r '.next // empty' <<<"$page")"
    [ -n "$from" ] || break
  done
  printf '%s' "$profiles"
}

# profile_conflict PROFILES SUBJECT_TOKEN_TYPE ACTION_ID — dies, naming it, when another Action's profile
# holds the subject token type (Auth0 allows one profile per type).
profile_conflict() {
  local holder hid other other_name
  holder="$(jq -c --arg t "$2" '[.[] | select(.subject_token_type == $t)][0] // empty' <<<"$1")"
  [ -n "$holder" ] || return 0
  other="$(jq -r .action_id <<<"$holder")"
  [ "$other" != "$3" ] || return 0
  hid="$(jq -r .id <<<"$holder")"
  other_name="$(API_ALLOW_404=1 api GET "/actions/actions/$other" | jq -r '.name // empty')" || exit 1
  die "the subject token type $2 is already used by the profile \"$(jq -r .name <<<"$holder")\" ($hid), which runs the Action ${other_name:+\"$other_name\" }($other); delete that profile if it is stale (DELETE /api/v2/token-exchange-profiles/$hid)"
}
