#!/usr/bin/env bash
# Creates the omni-auth Action (trigger custom-token-exchange v1, runtime node22, its pinned
# dependencies and secrets), or updates it when its code, dependencies or secrets differ; waits for
# the build, deploys, and waits until the new version is live. Does nothing when all is already so.
# Prints the Action's id on stdout:
#
#   export ACTION_ID="$(scripts/create-or-update-action.sh)"
#
# Environment:
#   AUTH0_DOMAIN      the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_TOKEN  Management API token (scripts/get-mgmt-token.sh) with read:, create:, update:actions
#   ACTION_NAME       default omni-auth-custom-token-exchange
#   ACTION_DIR        directory with custom_token_exchange.js and package.json (default: ../auth0-actions)
#   CONNECTION        database connection for the users (secret CONNECTION; default omni-auth-machines,
#                     which create-connection.sh creates)
#   ISSUER            the tenant's issuer (secret ISSUER; default https://{AUTH0_DOMAIN}/)
#   ALLOWED_KEYS      comma-separated key thumbprints the Action accepts (secret ALLOWED_KEYS);
#                     set but empty (ALLOWED_KEYS=) accepts any key; unset keeps the Action's current list
#   IDENTITY          who tokens are for (secret IDENTITY): person (only keys a person bound with
#                     `omni-auth login --browser`), machine (every key is its own user) or both. Unset:
#                     a new Action gets person; an Action deployed without IDENTITY keeps working as
#                     it does (machine); one with it keeps its value — as `omni-auth setup` does
#
# Auth0 never shows secret values, so the code ends with marker lines, the same as `omni-auth setup`
# writes: `// omni-auth:allowed-keys=…` (the allow-list, only when there is one; thumbprints are
# public), `// omni-auth:identity=…` (the policy) and `// omni-auth:secrets-sha256=…` (the SHA-256 of
# the secrets). A changed secret changes the code, so the Action is updated; and a run without
# ALLOWED_KEYS or IDENTITY reads them back from the deployed code instead of dropping them.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_TOKEN
ORIGIN="$(tenant_origin)"
ACTION_NAME="${ACTION_NAME:-omni-auth-custom-token-exchange}"
ACTION_DIR="${ACTION_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../auth0-actions" && pwd)}"
CONNECTION="${CONNECTION:-omni-auth-machines}"
ISSUER="${ISSUER:-$ORIGIN/}"
[ -f "$ACTION_DIR/custom_token_exchange.js" ] || die "$ACTION_DIR/custom_token_exchange.js not found (set ACTION_DIR)"
[ -f "$ACTION_DIR/package.json" ] || die "$ACTION_DIR/package.json not found (set ACTION_DIR)"

# The marker lines at the end of the code (see above); jq regex, the same as setup's.
MARKER='\n*(// omni-auth:allowed-keys=(?<keys>[^\n]*)\n)?(// omni-auth:identity=(?<identity>[^\n]*)\n)?// omni-auth:secrets-sha256=[0-9a-f]{64}\s*\z'
THUMBPRINT='^[A-Za-z0-9_-]{43}$'

id="$(action_id_by_name "$ACTION_NAME")"
current=""
[ -z "$id" ] || current="$(api GET "/actions/actions/$id")"

# The allow-list: ALLOWED_KEYS when set (empty clears it), else what the deployed Action's marker
# records — dropping it would let the Action accept any key. "?" when the Action has an ALLOWED_KEYS
# secret that no marker records (deployed by hand or by an older version): then it must be given.
if [ -n "${ALLOWED_KEYS+set}" ]; then
  keys="$(jq -rn --arg keys "$ALLOWED_KEYS" '$keys | split(",") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != "")) | unique | join(",")')"
  bad="$(jq -rn --arg keys "$keys" --arg re "$THUMBPRINT" '$keys | split(",") | map(select(test($re) | not)) | first // empty')"
  [ -z "$bad" ] || die "ALLOWED_KEYS: \"$bad\" is not a key thumbprint (43 characters, as \`omni-auth status\` prints it)"
elif [ -z "$current" ]; then
  keys=""
else
  keys="$(jq -r --arg marker "$MARKER" --arg re "$THUMBPRINT" '
    ((.secrets // []) | map(.name) | index("ALLOWED_KEYS") != null) as $has
    | ([(.code // "") | capture($marker)] | .[0]) as $m
    | (if $m == null then null
       elif ($m.keys // "") == "" then []
       elif ($m.keys | split(",") | all(test($re))) then ($m.keys | split(","))
       else null end) as $recorded
    | if $recorded != null and (($recorded | length) > 0 or ($has | not)) then $recorded | join(",")
      elif $has then "?" else "" end' <<<"$current")"
  [ "$keys" != "?" ] || die "the Action $ACTION_NAME ($id) has an ALLOWED_KEYS secret whose value cannot be read back (Auth0 never shows secret values, and its code records none): set ALLOWED_KEYS to the thumbprints to keep, or ALLOWED_KEYS= to accept any key"
fi

# The identity policy: IDENTITY when set; else person for a new Action (or one never deployed),
# machine for one deployed without the secret (it predates the policy), the marker's value for one
# with it — and "?" when the Action has the secret and no marker records it: then it must be given.
case "${IDENTITY-}" in
  person|machine|both) identity="$IDENTITY" ;;
  "")
    [ -z "${IDENTITY+set}" ] || die "IDENTITY is set but empty: set it to person, machine or both, or unset it to keep the Action's"
    if [ -z "$current" ]; then
      identity=person
    else
      identity="$(jq -r --arg marker "$MARKER" '
        ((.secrets // []) | map(.name) | index("IDENTITY") != null) as $has
        | ([(.code // "") | capture($marker)] | .[0].identity // "") as $recorded
        | if ($has | not) then (if .deployed_version.deployed == true then "machine" else "person" end)
          elif ($recorded | test("^(person|machine|both)$")) then $recorded
          else "?" end' <<<"$current")"
      [ "$identity" != "?" ] || die "the Action $ACTION_NAME ($id) has an IDENTITY secret whose value cannot be read back (Auth0 never shows secret values, and its code records none): set IDENTITY to person, machine or both"
    fi ;;
  *) die "IDENTITY must be person, machine or both; got \"$IDENTITY\"" ;;
esac

# The desired secrets, and their digest over canonical JSON: [["NAME","value"],…] sorted by name.
secrets="$(jq -cn --arg issuer "$ISSUER" --arg connection "$CONNECTION" --arg keys "$keys" --arg identity "$identity" '
  [{name: "ISSUER", value: $issuer}, {name: "CONNECTION", value: $connection}]
  + (if $keys == "" then [] else [{name: "ALLOWED_KEYS", value: $keys}] end)
  + [{name: "IDENTITY", value: $identity}]')"
digest="$(jq -cj 'sort_by(.name) | map([.name, .value])' <<<"$secrets" | sha256)"

# The desired Action: the file's code (any old marker removed, trailing space trimmed) + the marker.
desired="$(jq -cn --rawfile code "$ACTION_DIR/custom_token_exchange.js" --slurpfile pkg "$ACTION_DIR/package.json" \
  --argjson secrets "$secrets" --arg digest "$digest" --arg keys "$keys" --arg identity "$identity" --arg marker "$MARKER" '{
    code: (($code | sub($marker; "\n") | sub("\\s+$"; "")) + "\n\n"
      + (if $keys == "" then "" else "// omni-auth:allowed-keys=" + $keys + "\n" end)
      + "// omni-auth:identity=" + $identity + "\n"
      + "// omni-auth:secrets-sha256=" + $digest + "\n"),
    runtime: "node22",
    dependencies: ($pkg[0].dependencies // {} | to_entries | map({name: .key, version: .value})),
    secrets: $secrets
  }')"

upsert_action "Action" "$id" "$current" "$desired"
