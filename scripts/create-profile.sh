#!/usr/bin/env bash
# Creates the Token Exchange Profile that sends the subject token type to the omni-auth Action, or
# renames / re-points the one it already has. Does nothing when it is already so. Fails (exit 1,
# naming it) when another Action's profile holds the subject token type: Auth0 allows one per type.
# Prints the profile's id on stdout.
#
# Environment:
#   AUTH0_DOMAIN        the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_TOKEN    Management API token with read:, create:, update:token_exchange_profiles (and read:actions)
#   ACTION_ID           the Action's id (create-or-update-action.sh prints it); or else
#   ACTION_NAME         the Action's name, looked up (default omni-auth-custom-token-exchange)
#   SUBJECT_TOKEN_TYPE  default urn:omnispindle:local-auth
#   PROFILE_NAME        default omnispindle-local-auth
#
# --ci: the keyless CI profile instead (docs/ci-oidc.md), as `omni-auth setup --ci-trust-file` makes
# it: omni-auth-ci-oidc, urn:omni-auth:ci-oidc → the CI Action omni-auth-ci-oidc-exchange. The names
# are fixed (the CLI sends that type, doctor looks for it); ACTION_ID, ACTION_NAME, SUBJECT_TOKEN_TYPE
# and PROFILE_NAME are ignored — an ACTION_ID exported for the machine profile must not bind the CI
# type to the machine Action. It reads CI_ACTION_ID instead (create-ci-action.sh prints it), or looks
# the CI Action up by name.
#
# The Action must be deployed first (create-or-update-action.sh / create-ci-action.sh wait for that).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

CI=""
case "${1-}" in
  --ci) CI=1; [ $# -eq 1 ] || die "usage: $(basename "$0") [--ci]" ;;
  "") [ $# -eq 0 ] || die "usage: $(basename "$0") [--ci]" ;;
  *) die "unknown argument $1 (usage: $(basename "$0") [--ci])" ;;
esac

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_TOKEN
ORIGIN="$(tenant_origin)"
if [ -n "$CI" ]; then
  SUBJECT_TOKEN_TYPE=urn:omni-auth:ci-oidc
  PROFILE_NAME=omni-auth-ci-oidc
  ACTION_ID="${CI_ACTION_ID:-}"
  name=omni-auth-ci-oidc-exchange
  run_first=create-ci-action.sh
  id_var=CI_ACTION_ID
else
  SUBJECT_TOKEN_TYPE="${SUBJECT_TOKEN_TYPE:-urn:omnispindle:local-auth}"
  PROFILE_NAME="${PROFILE_NAME:-omnispindle-local-auth}"
  name="${ACTION_NAME:-omni-auth-custom-token-exchange}"
  run_first=create-or-update-action.sh
  id_var=ACTION_ID
fi

if [ -z "${ACTION_ID:-}" ]; then
  ACTION_ID="$(action_id_by_name "$name")"
  [ -n "$ACTION_ID" ] || die "no Action named $name: run $run_first first, or set $id_var"
fi

profiles="$(all_profiles)"

holder="$(jq -c --arg t "$SUBJECT_TOKEN_TYPE" '[.[] | select(.subject_token_type == $t)][0] // empty' <<<"$profiles")"
if [ -n "$holder" ]; then
  id="$(jq -r .id <<<"$holder")"
  if [ "$(jq -r .action_id <<<"$holder")" != "$ACTION_ID" ]; then
    other="$(jq -r .action_id <<<"$holder")"
    other_name="$(API_ALLOW_404=1 api GET "/actions/actions/$other" | jq -r '.name // empty')"
    die "the subject token type $SUBJECT_TOKEN_TYPE is already used by the profile \"$(jq -r .name <<<"$holder")\" ($id), which runs the Action ${other_name:+\"$other_name\" }($other); ${CI:+delete that profile if it is stale}${CI:-choose another SUBJECT_TOKEN_TYPE, or delete that profile if it is stale}"
  fi
  if [ "$(jq -r .name <<<"$holder")" != "$PROFILE_NAME" ]; then
    note "renaming the profile $id to $PROFILE_NAME"
    api PATCH "/token-exchange-profiles/$id" "$(jq -cn --arg n "$PROFILE_NAME" '{name: $n}')" >/dev/null
  else
    note "the profile $PROFILE_NAME ($id) already maps $SUBJECT_TOKEN_TYPE to the Action"
  fi
  printf '%s\n' "$id"
  exit 0
fi

# Our profile under another subject token type: re-point it.
ours="$(jq -r --arg n "$PROFILE_NAME" --arg a "$ACTION_ID" '[.[] | select(.name == $n and .action_id == $a)][0].id // empty' <<<"$profiles")"
if [ -n "$ours" ]; then
  note "re-pointing the profile $PROFILE_NAME ($ours) to $SUBJECT_TOKEN_TYPE"
  api PATCH "/token-exchange-profiles/$ours" "$(jq -cn --arg t "$SUBJECT_TOKEN_TYPE" '{subject_token_type: $t}')" >/dev/null
  printf '%s\n' "$ours"
  exit 0
fi

note "creating the profile $PROFILE_NAME for $SUBJECT_TOKEN_TYPE"
body="$(jq -cn --arg n "$PROFILE_NAME" --arg t "$SUBJECT_TOKEN_TYPE" --arg a "$ACTION_ID" \
  '{name: $n, subject_token_type: $t, action_id: $a, type: "custom_authentication"}')"
api POST /token-exchange-profiles "$body" | jq -r .id
