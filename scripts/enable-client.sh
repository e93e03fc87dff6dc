#!/usr/bin/env bash
# Makes the tenant ready for the omni-auth CLI application, changing only what differs:
#   1. the application: native, first-party, OIDC-conformant, no client secret
#      (token_endpoint_auth_method "none"), the grants authorization_code (the browser sign-in,
#      `omni-auth login --browser`) and refresh_token, the loopback callback URLs
#      http://127.0.0.1:8765/callback and http://localhost:8765/callback (both lists merged with the
#      application's own, never replacing them), and token_exchange.allow_any_profile_of_type
#      including "custom_authentication";
#   2. the API (the audience): created if missing; "Allow Skipping User Consent"
#      (skip_consent_for_verifiable_first_party_clients) and offline access on;
#   3. the connection (the machines' connection create-connection.sh creates): enabled for the application.
#
# Environment:
#   AUTH0_DOMAIN      the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_TOKEN  Management API token with read:/update:clients, read:/create:/update:resource_servers,
#                     read:/update:connections
#   CLIENT_ID         the CLI application's client id
#   AUDIENCE          the API identifier the MCP server accepts
#   CONNECTION        default omni-auth-machines (create-connection.sh creates it)
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_TOKEN CLIENT_ID AUDIENCE
ORIGIN="$(tenant_origin)"
CONNECTION="${CONNECTION:-omni-auth-machines}"

# 1. The application.
client="$(api_find "/clients/$(urlencode "$CLIENT_ID")")"
[ -n "$client" ] || die "the tenant has no application with client id $CLIENT_ID"
patch="$(jq -c '
  . as $c
  | ({app_type: "native", is_first_party: true, oidc_conformant: true, token_endpoint_auth_method: "none"}
     | with_entries(select(.value != $c[.key])))
  + ((["authorization_code", "refresh_token"] - ($c.grant_types // [])) as $g
     | if $g == [] then {} else {grant_types: (($c.grant_types // []) + $g)} end)
  + ((["http://127.0.0.1:8765/callback", "http://localhost:8765/callback"] - ($c.callbacks // [])) as $cb
     | if $cb == [] then {} else {callbacks: (($c.callbacks // []) + $cb)} end)
  + (if (($c.token_exchange.allow_any_profile_of_type // []) | index("custom_authentication")) then {}
     else {token_exchange: {allow_any_profile_of_type: ((($c.token_exchange.allow_any_profile_of_type // []) + ["custom_authentication"]) | unique)}} end)' <<<"$client")"
if [ "$patch" != '{}' ]; then
  note "updating the application $CLIENT_ID: $(jq -r 'keys | join(", ")' <<<"$patch")"
  api PATCH "/clients/$(urlencode "$CLIENT_ID")" "$patch" >/dev/null
else
  note "the application $CLIENT_ID is ready"
fi

# 2. The API.
wanted='{"skip_consent_for_verifiable_first_party_clients":true,"allow_offline_access":true}'
rs="$(api_find "/resource-servers/$(urlencode "$AUDIENCE")")"
if [ -z "$rs" ]; then
  note "creating the API $AUDIENCE"
  api POST /resource-servers "$(jq -c --arg a "$AUDIENCE" '. + {identifier: $a, name: $a}' <<<"$wanted")" >/dev/null
else
  rs_patch="$(jq -c --argjson rs "$rs" 'with_entries(select(.value != $rs[.key]))' <<<"$wanted")"
  if [ "$rs_patch" != '{}' ]; then
    note "updating the API $AUDIENCE: $(jq -r 'keys | join(", ")' <<<"$rs_patch")"
    api PATCH "/resource-servers/$(jq -r .id <<<"$rs")" "$rs_patch" >/dev/null
  else
    note "the API $AUDIENCE is ready"
  fi
fi

# 3. The connection.
connection_id="$(api GET "/connections?name=$(urlencode "$CONNECTION")" | jq -r --arg n "$CONNECTION" '[.[] | select(.name == $n)][0].id // empty')"
[ -n "$connection_id" ] || die "the tenant has no connection named $CONNECTION (run create-connection.sh first, or set CONNECTION)"
enabled=false
from=''
while :; do
  page="$(api GET "/connections/$connection_id/clients?take=100${from:+&from=$(urlencode "$from")}")"
  if [ "$(jq -r --arg id "$CLIENT_ID" 'any(.clients[]?; .client_id == $id)' <<<"$page")" = true ]; then enabled=true; break; fi
  from="$(jq -r '.next // empty' <<<"$page")"
  [ -n "$from" ] || break
done
if [ "$enabled" = true ]; then
  note "the connection $CONNECTION is enabled for the application"
else
  note "enabling the connection $CONNECTION for the application"
  api PATCH "/connections/$connection_id/clients" "$(jq -cn --arg id "$CLIENT_ID" '[{client_id: $id, status: true}]')" >/dev/null
fi
