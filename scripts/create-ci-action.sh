#!/usr/bin/env bash
# Keyless CI identity (docs/ci-oidc.md) with curl and jq, as `omni-auth setup --ci-trust-file FILE`
# does it: creates the service users the policy asks for, then creates or updates the CI Action
# omni-auth-ci-oidc-exchange (auth0-actions/ci_oidc_exchange.js, trigger custom-token-exchange v1,
# runtime node22, the shared package.json's pinned dependencies) with the trust policy in its
# CI_TRUST_POLICY secret; waits for the build, deploys, and waits until the new version is live. Does
# nothing when all is already so. Prints the Action's id on stdout; then `create-profile.sh --ci`
# binds the subject token type urn:omni-auth:ci-oidc to it:
#
#   export CI_ACTION_ID="$(scripts/create-ci-action.sh --policy ci-rules.json)"
#   scripts/create-profile.sh --ci
#
#   --policy FILE  the trust policy: a JSON array of rules {"issuer": "github" | "gitlab" | "https://…",
#                  "claims": {"repository": "acme/api", …}, "user": "auth0|…" | {"create": "<name>"},
#                  "allow_person": true (optional)}.
#                  Checked before any request, as strictly as setup checks it (every error names the
#                  rule's index), and refused when it exceeds Auth0's 4096 characters for one secret.
#                  Then, still before any write, every user a rule names by id is looked up
#                  (GET /users/{id}) and refused as setup refuses it: one that does not exist, is
#                  blocked, or is outside CONNECTION (a person's account) without "allow_person": true.
#                  (Unlike setup, a blocked existing ci-<name> of a {"create": …} rule is not refused:
#                  it is reused; `omni-auth doctor` warns about such a rule.)
#                  Without --policy the deployed policy is kept (read back from the Action's marker,
#                  below): use that to bring the Action's code up to date after an upgrade.
#
# Environment:
#   AUTH0_DOMAIN      the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
#   AUTH0_MGMT_TOKEN  Management API token with read:, create:, update:actions,
#                     read:token_exchange_profiles, read:users (the rules' users are looked up), and
#                     for {"create": …} rules create:users
#   CONNECTION        the machines' connection, where service users live (default omni-auth-machines,
#                     which create-connection.sh creates and enables for the CLI application)
#   ISSUER            the tenant's issuer URL, the audience a CI job's token must carry (secret ISSUER;
#                     default https://{AUTH0_DOMAIN}/)
#   ACTION_DIR        directory with ci_oidc_exchange.js and package.json (default: ../auth0-actions)
#
# {"create": "api"} rules: the service user ci-api (a name already starting with "ci-" is kept as
# is) in CONNECTION — username its only identifier, no email, a random password nobody keeps (it gets
# tokens only through the Action's setUserById) — found by username in that connection when it
# exists, else created. This script creates them rather than asking for `omni-auth setup`: the
# point of scripts/ is a tenant provisioned without Node, and it takes two calls setup makes too
# (GET /users?q=username:"ci-api", POST /users), with the same connection and username rule, so
# either tool finds the users the other made. The password reaches curl on stdin, never argv.
#
# Auth0 never shows secret values, so the code ends with the marker lines `omni-auth setup` writes:
# `// omni-auth:ci-trust-policy=<base64url of the policy JSON>` (not secret: issuer URLs, claim
# values, user ids) and `// omni-auth:secrets-sha256=<digest of the secrets>`. `omni-auth doctor`
# lists the rules from it, setup keeps it, and this script without --policy reads it back.
#
# CI_ALLOW_LOOPBACK_HTTP: never set for a real tenant and not an option here. Exactly as setup, the
# secret is set only when the tenant itself is the local emulator (AUTH0_DOMAIN and ISSUER http on
# 127.0.0.1, localhost or [::1]): its stand-in CI issuer is http, and the Action ignores the secret
# on any tenant whose hostname is not loopback anyway.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

POLICY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --policy) [ $# -ge 2 ] || die "--policy needs a file"; POLICY="$2"; shift 2 ;;
    --policy=*) POLICY="${1#--policy=}"; shift ;;
    *) die "unknown argument $1 (usage: $(basename "$0") [--policy FILE])" ;;
  esac
done

need_tools curl jq
need AUTH0_DOMAIN AUTH0_MGMT_TOKEN
ORIGIN="$(tenant_origin)"
ACTION_NAME=omni-auth-ci-oidc-exchange
ACTION_DIR="${ACTION_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../auth0-actions" && pwd)}"
CONNECTION="${CONNECTION:-omni-auth-machines}"
ISSUER="${ISSUER:-$ORIGIN/}"
[ -f "$ACTION_DIR/ci_oidc_exchange.js" ] || die "$ACTION_DIR/ci_oidc_exchange.js not found (set ACTION_DIR)"
[ -f "$ACTION_DIR/package.json" ] || die "$ACTION_DIR/package.json not found (set ACTION_DIR)"

# Auth0 "Actions Limitations": each secret value at most 4096 characters.
MAX_POLICY=4096
# A user id in the size check for a user still to create (Auth0's are auth0| + 24 hex digits).
PLACEHOLDER_ID="auth0|xxxxxxxxxxxxxxxxxxxxxxxx"
MARKER='\n*// omni-auth:ci-trust-policy=(?<policy>[A-Za-z0-9_-]*)\n// omni-auth:secrets-sha256=[0-9a-f]{64}\s*\z'

# jq: an issuer URL's problem (null when fine): https, or http on a loopback host (the emulator's
# stand-in); no credentials, query or fragment — setup's issuerUrlProblem.
JQ_URL_PROBLEM='
  def url_problem:
    (capture("^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?<auth>[^/?#]*)") // null) as $u
    | if $u == null or test("[\\s[:cntrl:]]") or $u.auth == "" then "is not a URL"
      elif test("[?#]") or ($u.auth | test("@")) then "must not carry credentials, a query or a fragment"
      elif ($u.scheme | ascii_downcase) == "https" then null
      elif ($u.scheme | ascii_downcase) == "http" and ($u.auth | ascii_downcase | test("^(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]*)?$")) then null
      else "must be https (http only on loopback)" end;'

# size_problem DEPLOYED_RULES_JSON — the refusal when the policy exceeds the secret limit, else nothing.
size_problem() {
  jq -r --argjson max "$MAX_POLICY" 'tojson | length | if . > $max then "the CI trust policy is \(.) characters as deployed; Auth0 allows at most \($max) in one Action secret (CI_TRUST_POLICY): merge rules, drop claims that add nothing, or use shorter user names; nothing was changed" else empty end' <<<"$1"
}

service_username() {
  case "$1" in ci-*) printf '%s' "$1" ;; *) printf 'ci-%s' "$1" ;; esac
}

# 1. The policy file, checked before any request: the rules with issuers spelled out ($rules), users
#    still {"create": name} or ids.
rules=""
if [ -n "$POLICY" ]; then
  [ -f "$POLICY" ] && [ -r "$POLICY" ] || die "--policy $POLICY: cannot read the file"
  values="$(jq -cs . <"$POLICY" 2>/dev/null)" || die "--policy $POLICY is not valid JSON"
  [ "$(jq 'length' <<<"$values")" = 1 ] || die "--policy $POLICY must hold one JSON array of rules"
  checked="$(jq -c "$JQ_URL_PROBLEM"'
    # JavaScript objects list integer-like keys first, ascending: setup'"'"'s JSON.stringify does, so must we.
    def js_order: to_entries | (map(select(.key | test("^(0|[1-9][0-9]{0,8})$"))) | sort_by(.key | tonumber))
      + map(select(.key | test("^(0|[1-9][0-9]{0,8})$") | not)) | from_entries;
    def gh: "https://token.actions.githubusercontent.com";
    def gl: "https://gitlab.com";
    # setup'"'"'s SCOPING (src/tenant/ci-policy.ts), which the Action checks too: claims that tie a shared
    # issuer'"'"'s token to one owner, or a sub that begins with it. Not job_workflow_ref, ci_config_ref_uri or
    # any other sub: anyone'"'"'s job can carry them.
    def scoping: {(gh): {claims: ["repository", "repository_id", "repository_owner", "repository_owner_id", "workflow_ref"],
                         sub: "^(repo|repository|repository_id|repository_owner|repository_owner_id):[^:]", hint: "a sub beginning with repo:OWNER/REPO"},
                  (gl): {claims: ["project_path", "project_id", "namespace_path", "namespace_id"],
                         sub: "^project_path:[^:]", hint: "a sub beginning with project_path:GROUP/PROJECT"}};
    def rule_error($i; $r):
      if ($r | type) != "object" then "is not an object"
      elif ([$r | keys_unsorted[] | select(. != "issuer" and . != "claims" and . != "user" and . != "allow_person")] | length) > 0 then
        "unknown field \([$r | keys_unsorted[] | select(. != "issuer" and . != "claims" and . != "user" and . != "allow_person") | "\"\(.)\""] | join(", ")) (only issuer, claims, user, allow_person)"
      elif ($r.issuer | type) != "string" or $r.issuer == "" then "issuer must be \"github\", \"gitlab\" or an issuer URL"
      else
        ({github: gh, gitlab: gl}[$r.issuer] // $r.issuer) as $iss
        | ($iss | url_problem) as $p
        | if $p != null then "issuer \"\($r.issuer)\" \($p)"
          elif ($r.claims | type) != "object" or ($r.claims | length) == 0 then "claims must be an object naming at least one claim"
          else
            ([$r.claims | to_entries[]
              | if (.value | type) != "string" or .value == "" then "claim \"\(.key)\" must be a non-empty string (exact match; GitLab'"'"'s ref_protected is \"true\")"
                elif (.key as $k | any(["iss", "aud", "exp", "iat", "nbf", "jti"][]; . == $k)) then "claim \"\(.key)\" is checked by the Action itself and cannot be matched"
                else empty end][0]) as $claim
            | if $claim != null then $claim
              elif scoping[$iss] != null and ([scoping[$iss].claims[] | select(. as $c | $r.claims | has($c))] | length) == 0
                   and (($r.claims.sub // "") | test(scoping[$iss].sub) | not) then
                "a rule for \($iss) must name one of \(scoping[$iss].claims | join(", ")) or \(scoping[$iss].hint): without it every \(if $iss == gl then "project on gitlab.com" else "repository on GitHub" end) would match (job_workflow_ref, ci_config_ref_uri and other subs can be carried by anyone'"'"'s job)"
              elif ($r.user | type) == "string" then (if ($r.user | test("^\\s*$")) then "user must be a user id (\"auth0|…\") or {\"create\": \"<name>\"}" else null end)
              elif ($r.user | type) == "object" and ($r.user | keys) == ["create"] and ($r.user.create | type) == "string" then
                (if ($r.user.create | test("^[a-z0-9][a-z0-9._-]{0,49}$")) then null
                 else "user.create \"\($r.user.create)\" must be 1–50 characters a-z 0-9 . _ - (lowercase), starting with a letter or digit" end)
              else "user must be a user id (\"auth0|…\") or {\"create\": \"<name>\"}" end
            | if . != null or ($r | has("allow_person") | not) then .
              elif ($r.allow_person | type) != "boolean" then "allow_person must be true or false (true: the user id may be a person'"'"'s account, see docs/ci-oidc.md)"
              elif ($r.user | type) != "string" then "allow_person applies to a user id, not to {\"create\": …} (a created service user is never a person)"
              else null end
          end
      end;
    .[0] as $rules
    | if ($rules | type) != "array" then {error: "must hold a JSON array of rules"}
      else ([$rules | to_entries[] | rule_error(.key; .value) as $e | select($e != null) | "rule \(.key): \($e)"][0]) as $first
        | if $first != null then {error: $first}
          else {rules: [$rules[] | {issuer: ({github: gh, gitlab: gl}[.issuer] // .issuer), claims: (.claims | js_order), user}
                        + (if .allow_person == true then {allow_person: true} else {} end)]} end
      end' <<<"$values")"
  problem="$(jq -r '.error // empty' <<<"$checked")"
  [ -z "$problem" ] || die "--policy $POLICY: $problem (each rule is {\"issuer\": \"github\" | \"gitlab\" | \"https://…\", \"claims\": {\"repository\": \"acme/api\"}, \"user\": \"auth0|…\" | {\"create\": \"api\"}}; see docs/ci-oidc.md)"
  rules="$(jq -c .rules <<<"$checked")"
  # The size as deployed, every user still to create counted as a full-length id: before any write.
  problem="$(size_problem "$(jq -c --arg p "$PLACEHOLDER_ID" 'map({issuer, claims, user: (if (.user | type) == "object" then $p else .user end)})' <<<"$rules")")"
  [ -z "$problem" ] || die "$problem"
fi

# 2. The Action as deployed today.
id="$(action_id_by_name "$ACTION_NAME")"
current=""
[ -z "$id" ] || current="$(api GET "/actions/actions/$id")"

# The profile for urn:omni-auth:ci-oidc must run this Action (or not exist yet): another Action's
# profile holding the type is refused before any write, as setup's plan blocks on it.
profile_conflict "$(all_profiles)" urn:omni-auth:ci-oidc "$id"

if [ -z "$POLICY" ]; then
  # No --policy: keep the deployed rules, read back from the marker (they are already ids).
  [ -n "$current" ] || die "there is no CI Action $ACTION_NAME yet: give the trust policy with --policy FILE (docs/ci-oidc.md)"
  recorded="$(jq -r --arg marker "$MARKER" '[(.code // "") | capture($marker)][0].policy // empty' <<<"$current")"
  rules="$(jq -c -R 'gsub("-"; "+") | gsub("_"; "/") | . + ("=" * ((4 - length % 4) % 4)) | @base64d | fromjson | select(type == "array")' <<<"$recorded" 2>/dev/null || true)"
  [ -n "$recorded" ] && [ -n "$rules" ] || die "the CI Action $ACTION_NAME ($id) records no policy this script can read (deployed by hand?): give it with --policy FILE"
  note "keeping the deployed CI trust policy ($(jq length <<<"$rules") rule(s))"
fi

# 2b. The users rules name by id, looked up before any write, refused as setup refuses them
#     (src/tenant/ci-users.ts): Auth0's setUserById takes an existing user and gives a blocked one no
#     token; a user outside CONNECTION is a person's account, allowed only by the rule's
#     "allow_person": true. Exit 1 (the scripts' only failure code; setup exits 3).
while IFS=$'\t' read -r index user_id allow <&3; do
  found="$(api_find "/users/$(urlencode "$user_id")")"
  [ -n "$found" ] || die "--policy $POLICY: rule $index: the user $user_id does not exist on this tenant: Auth0 refuses setUserById of a user that does not exist, so every CI job the rule matches would fail (hint: put the user id of an existing service user in the rule, or {\"create\": \"<name>\"} to create one in $CONNECTION; nothing was changed)"
  [ "$(jq -r '.blocked == true' <<<"$found")" = false ] \
    || die "--policy $POLICY: rule $index: the user $user_id is blocked: Auth0 issues no token for a blocked user, so every CI job the rule matches would fail (hint: unblock the user if the block was a mistake, or name another service user or {\"create\": \"<name>\"}; nothing was changed)"
  user_connection="$(jq -r '.identities[0].connection // "(unknown)"' <<<"$found")"
  if [ "$user_connection" = "$CONNECTION" ]; then
    note "rule $index: the user $user_id is in $CONNECTION"
  elif [ "$allow" = true ]; then
    note "rule $index: the user $user_id is in $user_connection: a person's account, allowed by allow_person"
  else
    die "--policy $POLICY: rule $index: the user $user_id is in the connection $user_connection, not $CONNECTION: a person's account (a database or social login), and every CI job the rule matches would act as that person (hint: name a service user ({\"create\": \"<name>\"} makes one in $CONNECTION); if CI must act as this person, say so in the rule with \"allow_person\": true (docs/ci-oidc.md); nothing was changed)"
  fi
done 3< <(if [ -n "$POLICY" ]; then jq -r 'to_entries[] | select(.value.user | type == "string") | [.key, .value.user, (.value.allow_person == true)] | @tsv' <<<"$rules"; fi)

# 3. The service users of {"create": name} rules: found in CONNECTION by username, else created.
ids='{}'
while IFS= read -r name <&3; do
  username="$(service_username "$name")"
  found="$(api GET "/users?q=$(urlencode "username:\"$username\"")&search_engine=v3")"
  user_id="$(jq -r --arg u "$username" --arg c "$CONNECTION" '
    (if type == "array" then . else (.users // []) end)
    | [.[] | select(.username == $u and any(.identities[]?; .connection == $c))][0].user_id // empty' <<<"$found")"
  if [ -z "$user_id" ]; then
    note "creating the service user $username in $CONNECTION"
    # The random password goes from /dev/urandom into the body through pipes: no variable, no argv.
    body="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' \
      | jq -Rc --arg c "$CONNECTION" --arg u "$username" '{connection: $c, username: $u, password: (. + "Aa1!")}')"
    user_id="$(api POST /users "$body" | jq -r '.user_id // empty')"
    unset body
    [ -n "$user_id" ] || die "creating the service user $username gave no user_id"
  else
    note "the service user $username is $user_id"
  fi
  ids="$(jq -c --arg n "$name" --arg id "$user_id" '. + {($n): $id}' <<<"$ids")"
done 3< <(jq -r '[.[].user | objects | .create] | unique | .[]' <<<"$rules")
deployed="$(jq -c --argjson ids "$ids" 'map({issuer, claims, user: (if (.user | type) == "object" then $ids[.user.create] else .user end)})' <<<"$rules")"
problem="$(size_problem "$deployed")"
[ -z "$problem" ] || die "$problem"

# 4. The desired Action: secrets ISSUER, CI_TRUST_POLICY (and CI_ALLOW_LOOPBACK_HTTP=1 only for the
#    local emulator, see the top), their digest over [["NAME","value"],…] in that order, as setup's.
loopback=false
case "$ORIGIN" in http://*) loopback="$(jq -rn --arg i "$ISSUER" "$JQ_URL_PROBLEM"'$i | (url_problem == null and startswith("http://"))')" ;; esac
secrets="$(jq -cn --arg issuer "$ISSUER" --argjson rules "$deployed" --argjson loopback "$loopback" '
  [{name: "ISSUER", value: $issuer}, {name: "CI_TRUST_POLICY", value: ($rules | tojson)}]
  + (if $loopback then [{name: "CI_ALLOW_LOOPBACK_HTTP", value: "1"}] else [] end)')"
digest="$(jq -cj 'map([.name, .value])' <<<"$secrets" | sha256)"
desired="$(jq -cn --rawfile code "$ACTION_DIR/ci_oidc_exchange.js" --slurpfile pkg "$ACTION_DIR/package.json" \
  --argjson secrets "$secrets" --argjson rules "$deployed" --arg digest "$digest" --arg marker "$MARKER" '{
    code: (($code | sub($marker; "\n") | sub("\\s+\\z"; "")) + "\n\n"
      + "// omni-auth:ci-trust-policy=" + ($rules | tojson | @base64 | gsub("\\+"; "-") | gsub("/"; "_") | gsub("=+\\z"; "")) + "\n"
      + "// omni-auth:secrets-sha256=" + $digest + "\n"),
    runtime: "node22",
    dependencies: ($pkg[0].dependencies // {} | to_entries | map({name: .key, version: .value})),
    secrets: $secrets
  }')"

upsert_action "CI Action" "$id" "$current" "$desired"
