#!/usr/bin/env bash
# Creates the machines' connection, the database connection the omni-auth Action creates its users
# in, or brings an existing one in line; enables it for the CLI application when CLIENT_ID is set.
# Does nothing when all is already so. Prints the connection's id on stdout.
#
#   - strategy "auth0" (a database connection), named omni-auth-machines by default;
#   - Flexible Identifiers with the username as the ONLY identifier (the machines' users have a
#     username and no email, so no mail can ever reach anyone), 1–64 characters, neither email- nor
#     phone-shaped; sign-ups disabled (no person can register in it);
#   - PATCH /api/v2/connections/{id} replaces `options` as a whole: the connection's current options
#     are sent back with these merged in (and requires_username / validation removed: Auth0 refuses
#     them next to `attributes`).
#
# Environment:
#   AUTH0_DOMAIN      the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_TOKEN  Management API token with read:, create:, update:connections, and
#                     read:/update:connections_options (Auth0 shows and changes options only with them)
#   CONNECTION        default omni-auth-machines (the Action's CONNECTION secret must name the same)
#   CLIENT_ID         the CLI application's client id: the connection is enabled for it (optional;
#                     enable-client.sh does the same)
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_TOKEN
ORIGIN="$(tenant_origin)"
CONNECTION="${CONNECTION:-omni-auth-machines}"

# The options setup manages (src/tenant/connection.ts holds the same).
wanted='{
  "attributes": {"username": {
    "identifier": {"active": true},
    "profile_required": true,
    "signup": {"status": "required"},
    "validation": {"min_length": 1, "max_length": 64, "allowed_types": {"email": false, "phone_number": false}}
  }},
  "disable_signup": true
}'

current="$(api GET "/connections?name=$(urlencode "$CONNECTION")" | jq -c --arg n "$CONNECTION" '[.[]? | select(.name == $n)][0] // empty')"
if [ -z "$current" ]; then
  note "creating the connection $CONNECTION (username only, sign-ups disabled)"
  id="$(api POST /connections "$(jq -c --arg n "$CONNECTION" '{name: $n, strategy: "auth0", options: .}' <<<"$wanted")" | jq -r .id)"
  [ -n "$id" ] && [ "$id" != null ] || die "the tenant did not return the new connection's id"
  enabled=false
else
  id="$(jq -r .id <<<"$current")"
  # Auth0 shows `options` only to a token with read:connections_options; without them a PATCH would
  # wipe the connection's other options, so stop instead.
  [ "$(jq -r 'has("options")' <<<"$current")" = true ] \
    || die "the tenant did not show the options of the connection $CONNECTION ($id): the token needs read:connections_options (and update:connections_options to change them)"
  # Right when the attributes are equal (jq compares objects regardless of key order), sign-ups are
  # off, and neither legacy field is present.
  right="$(jq -r --argjson w "$wanted" '(.options // {}) as $o
    | ($o.attributes == $w.attributes) and ($o.disable_signup == true) and ($o | has("requires_username") | not) and ($o | has("validation") | not)' <<<"$current")"
  if [ "$right" = true ]; then
    note "the connection $CONNECTION ($id) has the machines' options"
  else
    note "updating the options of the connection $CONNECTION ($id)"
    body="$(jq -c --argjson w "$wanted" '{options: (((.options // {}) | del(.requires_username, .validation)) + $w)}' <<<"$current")"
    api PATCH "/connections/$id" "$body" >/dev/null
  fi
  enabled=unknown
fi

if [ -n "${CLIENT_ID:-}" ]; then
  if [ "$enabled" = unknown ]; then
    enabled=false
    from=''
    while :; do
      page="$(api GET "/connections/$id/clients?take=100${from:+&from=$(urlencode "$from")}")"
      if [ "$(jq -r --arg c "$CLIENT_ID" 'any(.clients[]?; .client_id == $c)' <<<"$page")" = true ]; then enabled=true; break; fi
      from="$(jq -r '.next // empty' <<<"$page")"
      [ -n "$from" ] || break
    done
  fi
  if [ "$enabled" = true ]; then
    note "the connection $CONNECTION is enabled for the application $CLIENT_ID"
  else
    note "enabling the connection $CONNECTION for the application $CLIENT_ID"
    api PATCH "/connections/$id/clients" "$(jq -cn --arg c "$CLIENT_ID" '[{client_id: $c, status: true}]')" >/dev/null
  fi
fi
printf '%s\n' "$id"
