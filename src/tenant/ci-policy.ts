/**
 * The CI trust policy (issue 14 §1): which CI jobs get which service user, without any stored key.
 *
 * The trust file `setup --ci-trust-file` reads is a JSON array of rules
 *   {"issuer": "github" | "gitlab" | "<issuer URL>", "claims": {"<claim>": "<value>", …},
 *    "user": "<existing user id>" | {"create": "<name>"}, "allow_person": true (optional)}
 * checked strictly here (every error names the rule's index). Deployed, it is the CI_TRUST_POLICY
 * secret of the second Action (auth0-actions/ci_oidc_exchange.js), with every issuer spelled out and
 * every user an id. Auth0 never shows secret values, so the policy is also recorded — it is not
 * secret: issuer URLs, repository names, user ids — in a marker line at the end of the Action's code
 * (`// omni-auth:ci-trust-policy=<base64url JSON>`), from which `doctor` lists it and `setup` keeps it
 * when run without the flag. A secret edited in the Dashboard is not seen (the digest line then no
 * longer matches what setup would deploy, and setup rewrites it from the marker).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultActionDir } from '../emulator/action-source.js';
import { UsageError } from '../util/errors.js';
import type { ActionSecretValue, ActionSource } from './action-bundle.js';

export { CI_SUBJECT_TOKEN_TYPE } from '../broker/ci-token.js';
export const CI_ACTION_FILE = 'ci_oidc_exchange.js';
export const CI_ACTION_NAME = 'omni-auth-ci-oidc-exchange';
export const CI_PROFILE_NAME = 'omni-auth-ci-oidc';
export const CI_ISSUERS = { github: 'https://token.actions.githubusercontent.com', gitlab: 'https://gitlab.com' } as const;
/** Auth0 "Actions Limitations": each secret value at most 4096 characters, 30 secrets an Action. */
export const SECRET_VALUE_MAX_CHARS = 4096;
/** A created service user's username prefix (in the machines' connection, beside `omni-<thumbprint>`). */
export const CI_USERNAME_PREFIX = 'ci-';

/**
 * Claims that tie a token of a SHARED issuer to one owner: a GitHub or GitLab rule must list one, or a
 * `sub` that begins with the repository / project, or it would trust every repository on github.com /
 * gitlab.com. Not job_workflow_ref (any repository may call a public reusable workflow), not GitLab's
 * ci_config_ref_uri (a project may take its CI file from another project), and not any `sub`: a
 * repository chooses its own sub template (GitHub's OIDC subject customization), so `environment:prod`
 * is a sub anyone's job can carry. The Action checks the same (auth0-actions/ci_oidc_exchange.js SCOPING).
 */
const SCOPING: Record<string, { claims: readonly string[]; sub: RegExp; subHint: string }> = {
  [CI_ISSUERS.github]: {
    claims: ['repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'workflow_ref'],
    sub: /^(repo|repository|repository_id|repository_owner|repository_owner_id):[^:]/,
    subHint: 'a sub beginning with repo:OWNER/REPO',
  },
  [CI_ISSUERS.gitlab]: {
    claims: ['project_path', 'project_id', 'namespace_path', 'namespace_id'],
    sub: /^project_path:[^:]/,
    subHint: 'a sub beginning with project_path:GROUP/PROJECT',
  },
};

export type RuleUser = string | { create: string };

export interface TrustRule {
  /** The issuer URL (shorthands resolved). */
  issuer: string;
  claims: Record<string, string>;
  user: RuleUser;
  /**
   * `"allow_person": true`: the admin's explicit opt-in for a user id outside the machines'
   * connection (a person's account; ci-users.ts). Checked by setup, not deployed (the Action needs
   * only issuer, claims, user).
   */
  allowPerson?: boolean;
}

/** A rule as deployed: the user is an id. */
export interface DeployedRule {
  issuer: string;
  claims: Record<string, string>;
  user: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,49}$/;

function ruleError(index: number, message: string): UsageError {
  return new UsageError('invalid_ci_trust_file', `--ci-trust-file: rule ${index}: ${message}`, {
    hint: 'each rule is {"issuer": "github" | "gitlab" | "https://…", "claims": {"repository": "acme/api", "ref": "refs/heads/main"}, "user": "auth0|…" | {"create": "ci-api"}}; see docs/ci-oidc.md',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An issuer URL: https, or http on a loopback host (the emulator's stand-in); no credentials, query or fragment. */
export function issuerUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password || url.search || url.hash) return 'must not carry credentials, a query or a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
  return 'must be https (http only on loopback)';
}

/** Parses and checks a trust file's text. */
export function parseTrustPolicy(text: string): TrustRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError('invalid_ci_trust_file', `--ci-trust-file is not valid JSON (${(e as Error).message})`, {
      hint: 'the file is a JSON array of rules; see docs/ci-oidc.md',
    });
  }
  if (!Array.isArray(parsed)) {
    throw new UsageError('invalid_ci_trust_file', '--ci-trust-file must hold a JSON array of rules', { hint: 'e.g. [{"issuer": "github", "claims": {"repository": "acme/api"}, "user": {"create": "ci-api"}}]' });
  }
  return parsed.map((raw, index) => {
    if (!isObject(raw)) throw ruleError(index, 'is not an object');
    const unknown = Object.keys(raw).filter((k) => !['issuer', 'claims', 'user', 'allow_person'].includes(k));
    if (unknown.length > 0) throw ruleError(index, `unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (only issuer, claims, user, allow_person)`);
    const { issuer: rawIssuer, claims: rawClaims, user: rawUser } = raw;
    if (typeof rawIssuer !== 'string' || rawIssuer === '') throw ruleError(index, 'issuer must be "github", "gitlab" or an issuer URL');
    const issuer = rawIssuer in CI_ISSUERS ? CI_ISSUERS[rawIssuer as keyof typeof CI_ISSUERS] : rawIssuer;
    const problem = issuerUrlProblem(issuer);
    if (problem) throw ruleError(index, `issuer "${rawIssuer}" ${problem}`);
    if (!isObject(rawClaims) || Object.keys(rawClaims).length === 0) throw ruleError(index, 'claims must be an object naming at least one claim');
    const claims: Record<string, string> = {};
    for (const [name, value] of Object.entries(rawClaims)) {
      if (typeof value !== 'string' || value === '') throw ruleError(index, `claim "${name}" must be a non-empty string (exact match; GitLab's ref_protected is "true")`);
      if (['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'].includes(name)) throw ruleError(index, `claim "${name}" is checked by the Action itself and cannot be matched`);
      claims[name] = value;
    }
    const scoping = SCOPING[issuer];
    if (scoping && !scoping.claims.some((c) => c in claims) && !(claims.sub !== undefined && scoping.sub.test(claims.sub))) {
      throw ruleError(index, `a rule for ${issuer} must name one of ${scoping.claims.join(', ')} or ${scoping.subHint}: without it every ${issuer === CI_ISSUERS.gitlab ? 'project on gitlab.com' : 'repository on GitHub'} would match (job_workflow_ref, ci_config_ref_uri and other subs can be carried by anyone's job)`);
    }
    let user: RuleUser;
    if (typeof rawUser === 'string' && rawUser.trim() !== '') user = rawUser;
    else if (isObject(rawUser) && Object.keys(rawUser).length === 1 && typeof rawUser.create === 'string') {
      if (!NAME.test(rawUser.create)) throw ruleError(index, `user.create "${rawUser.create}" must be 1–50 characters a-z 0-9 . _ - (lowercase), starting with a letter or digit`);
      user = { create: rawUser.create };
    } else throw ruleError(index, 'user must be a user id ("auth0|…") or {"create": "<name>"}');
    if (raw.allow_person === undefined) return { issuer, claims, user };
    if (typeof raw.allow_person !== 'boolean') throw ruleError(index, 'allow_person must be true or false (true: the user id may be a person\'s account, see docs/ci-oidc.md)');
    if (typeof user !== 'string') throw ruleError(index, 'allow_person applies to a user id, not to {"create": …} (a created service user is never a person)');
    return { issuer, claims, user, allowPerson: raw.allow_person };
  });
}

export async function readTrustFile(path: string): Promise<TrustRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError('invalid_ci_trust_file', `could not read --ci-trust-file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'give the path of a JSON file of trust rules' });
  }
  return parseTrustPolicy(text);
}

/** The username a `{"create": name}` service user gets in the machines' connection. */
export const serviceUsername = (name: string): string => (name.startsWith(CI_USERNAME_PREFIX) ? name : `${CI_USERNAME_PREFIX}${name}`);

/** The rules with every created user replaced by its id (`ids` by create-name). */
export function deployedRules(rules: readonly TrustRule[], ids: ReadonlyMap<string, string>): DeployedRule[] {
  return rules.map((r) => {
    const user = typeof r.user === 'string' ? r.user : ids.get(r.user.create);
    if (user === undefined) throw new Error(`no user id for ${JSON.stringify(r.user)}`);
    return { issuer: r.issuer, claims: r.claims, user };
  });
}

export const policyJson = (rules: readonly DeployedRule[]): string => JSON.stringify(rules);

/** Auth0's secret size limit, enforced before anything is written. */
export function checkPolicySize(rules: readonly DeployedRule[]): void {
  const size = policyJson(rules).length;
  if (size > SECRET_VALUE_MAX_CHARS) {
    throw new UsageError('ci_policy_too_large', `the CI trust policy is ${size} characters as deployed; Auth0 allows at most ${SECRET_VALUE_MAX_CHARS} in one Action secret (CI_TRUST_POLICY)`, {
      hint: 'merge rules (one rule per service user and repository), drop claims that add nothing, or use shorter user names; nothing was changed',
    });
  }
}

export interface DesiredCiAction {
  code: string;
  dependencies: ActionSource['dependencies'];
  secrets: ActionSecretValue[];
  rules: DeployedRule[];
}

const MARKER = /\n*\/\/ omni-auth:ci-trust-policy=([A-Za-z0-9_-]*)\n\/\/ omni-auth:secrets-sha256=([0-9a-f]{64})\s*$/;

export const stripCiMarker = (code: string): string => code.replace(MARKER, '\n').trimEnd();

/** The rules a deployed CI Action's marker records; undefined without a readable marker. */
export function markerCiPolicy(code: string | undefined): DeployedRule[] | undefined {
  const m = code === undefined ? null : MARKER.exec(code);
  if (!m) return undefined;
  try {
    const rules = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as unknown;
    return Array.isArray(rules) ? (rules as DeployedRule[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CI Action as deployed: the file, the secrets — ISSUER (the audience a CI token must carry: the
 * tenant's issuer URL), CI_TRUST_POLICY, and CI_ALLOW_LOOPBACK_HTTP=1 only for a tenant that is itself
 * on loopback http (the emulator) — and the marker lines.
 */
export function desiredCiAction(source: ActionSource, issuer: string, rules: readonly DeployedRule[]): DesiredCiAction {
  checkPolicySize(rules);
  const loopback = issuerUrlProblem(issuer) === undefined && issuer.startsWith('http://');
  const secrets: ActionSecretValue[] = [
    { name: 'ISSUER', value: issuer },
    { name: 'CI_TRUST_POLICY', value: policyJson(rules) },
    ...(loopback ? [{ name: 'CI_ALLOW_LOOPBACK_HTTP', value: '1' }] : []),
  ];
  const digest = createHash('sha256').update(JSON.stringify(secrets.map((s) => [s.name, s.value]))).digest('hex');
  const recorded = Buffer.from(policyJson(rules), 'utf8').toString('base64url');
  const code = `${stripCiMarker(source.code)}\n\n// omni-auth:ci-trust-policy=${recorded}\n// omni-auth:secrets-sha256=${digest}\n`;
  return { code, dependencies: source.dependencies, secrets, rules: [...rules] };
}

/** The CI Action file and the shared package.json's dependencies. */
export async function readCiActionSource(dir: string = defaultActionDir()): Promise<ActionSource> {
  try {
    const code = await readFile(join(dir, CI_ACTION_FILE), 'utf8');
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    return { code, dependencies: Object.entries(manifest.dependencies ?? {}).map(([name, version]) => ({ name, version })) };
  } catch (e) {
    throw new UsageError('action_missing', `could not read the CI Action from ${dir}`, {
      hint: `${join(dir, CI_ACTION_FILE)} and ${join(dir, 'package.json')} must exist (reinstall omni-auth, or fix OMNI_AUTH_ACTION_DIR)`,
      cause: e,
    });
  }
}

/**
 * One line per rule, for the plan and doctor: `#0 github repository=acme/api ref=refs/heads/main → auth0|…`,
 * followed by ` (<note>)` where `notes` has one for the rule (its user's connection, ci-users.ts).
 */
export function ruleLines(rules: readonly (TrustRule | DeployedRule)[], notes: readonly (string | undefined)[] = []): string[] {
  const short = (iss: string): string => (Object.entries(CI_ISSUERS).find(([, url]) => url === iss)?.[0] ?? iss);
  return rules.map((r, i) => {
    const claims = Object.entries(r.claims).map(([k, v]) => `${k}=${v}`).join(' ');
    const user = typeof r.user === 'string' ? r.user : `new service user ${serviceUsername(r.user.create)}`;
    return `#${i} ${short(r.issuer)} ${claims} → ${user}${notes[i] !== undefined ? ` (${notes[i]})` : ''}`;
  });
}
