/**
 * The total patience of one token request (`OMNI_AUTH_RETRY_BUDGET`, seconds): how long omni-auth
 * keeps retrying a rate-limited or failing tenant before it gives up (exit 5 for a rate limit). A CI
 * job would rather wait its turn behind 200 others than fail, so CI gets a longer default than a
 * person at a terminal.
 */
import { UsageError } from '../util/errors.js';

export const INTERACTIVE_RETRY_BUDGET_SECONDS = 30;
export const CI_RETRY_BUDGET_SECONDS = 300;

const truthy = (v: string | undefined): boolean => v !== undefined && /^(true|1|yes)$/i.test(v.trim());

/** CI by the variables the common systems set: `CI=true` (most), `GITHUB_ACTIONS=true`, `GITLAB_CI`. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  return truthy(env.CI) || truthy(env.GITHUB_ACTIONS) || (env.GITLAB_CI !== undefined && env.GITLAB_CI.trim() !== '' && !/^(false|0)$/i.test(env.GITLAB_CI.trim()));
}

export function defaultRetryBudgetSeconds(env: NodeJS.ProcessEnv): number {
  return isCi(env) ? CI_RETRY_BUDGET_SECONDS : INTERACTIVE_RETRY_BUDGET_SECONDS;
}

/** The budget in milliseconds; a value that is not a positive number of seconds is a usage error (exit 2). */
export function retryBudgetMs(env: NodeJS.ProcessEnv): number {
  const raw = env.OMNI_AUTH_RETRY_BUDGET;
  if (raw === undefined || raw.trim() === '') return defaultRetryBudgetSeconds(env) * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError('invalid_retry_budget', `OMNI_AUTH_RETRY_BUDGET must be a positive number of seconds; got "${raw}"`, {
      hint: `e.g. OMNI_AUTH_RETRY_BUDGET=600, or unset it for the default (${INTERACTIVE_RETRY_BUDGET_SECONDS} s, ${CI_RETRY_BUDGET_SECONDS} s in CI)`,
    });
  }
  return seconds * 1000;
}
