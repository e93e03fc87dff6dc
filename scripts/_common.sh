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
