#!/usr/bin/env bash
# Prints a Management API token for the tenant (client-credentials grant), for the other scripts:
#
#   export AUTH0_MGMT_TOKEN="$(scripts/get-mgmt-token.sh)"
#
# Environment:
#   AUTH0_DOMAIN              the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_CLIENT_ID      a machine-to-machine application authorized for the Auth0 Management API
#   AUTH0_MGMT_CLIENT_SECRET  its client secret
#
# The token goes to stdout only, and only when stdout is not a terminal (capture it as above).
# Exits 1 with the tenant's error body when the request is refused.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_CLIENT_ID AUTH0_MGMT_CLIENT_SECRET
ORIGIN="$(tenant_origin)"
[ -t 1 ] && die "refusing to print the token on a terminal; capture it: export AUTH0_MGMT_TOKEN=\"\$($0)\""

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status="$(curl -sS -o "$tmp/body" -w '%{http_code}' -X POST "$ORIGIN/oauth/token" \
  --data-urlencode 'grant_type=client_credentials' \
  --data-urlencode "client_id=$AUTH0_MGMT_CLIENT_ID" \
  --data-urlencode "client_secret@"<(printf '%s' "$AUTH0_MGMT_CLIENT_SECRET") \
  --data-urlencode "audience=$ORIGIN/api/v2/")" || die "could not reach $ORIGIN"

if [ "${status:0:1}" != 2 ]; then
  note "error: $ORIGIN/oauth/token answered HTTP $status:"
  jq -c '{error, error_description}' <"$tmp/body" >&2 2>/dev/null || cat "$tmp/body" >&2
  exit 1
fi
token="$(jq -r '.access_token // empty' <"$tmp/body")"
[ -n "$token" ] || die "the answer holds no access_token"
printf '%s\n' "$token"
