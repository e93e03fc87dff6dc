/** OMNI_AUTH_RETRY_BUDGET and the CI default. */
import { describe, expect, it } from 'vitest';
import { CI_RETRY_BUDGET_SECONDS, INTERACTIVE_RETRY_BUDGET_SECONDS, isCi, retryBudgetMs } from '../../src/exchange/retry-budget.js';
import { OmniAuthError } from '../../src/util/errors.js';

describe('the retry budget', () => {
  it('is 30 s at a terminal and longer in CI (CI=true, GITHUB_ACTIONS=true, GITLAB_CI)', () => {
    expect(INTERACTIVE_RETRY_BUDGET_SECONDS).toBe(30);
    expect(CI_RETRY_BUDGET_SECONDS).toBeGreaterThan(INTERACTIVE_RETRY_BUDGET_SECONDS);
    expect(retryBudgetMs({})).toBe(30_000);
    for (const env of [{ CI: 'true' }, { CI: '1' }, { GITHUB_ACTIONS: 'true' }, { GITLAB_CI: 'true' }]) {
      expect(isCi(env)).toBe(true);
      expect(retryBudgetMs(env)).toBe(CI_RETRY_BUDGET_SECONDS * 1000);
    }
    for (const env of [{ CI: 'false' }, { CI: '' }, { GITHUB_ACTIONS: 'false' }, { GITLAB_CI: 'false' }]) expect(isCi(env)).toBe(false);
  });

  it('OMNI_AUTH_RETRY_BUDGET (seconds) wins, in CI or not', () => {
    expect(retryBudgetMs({ OMNI_AUTH_RETRY_BUDGET: '90' })).toBe(90_000);
    expect(retryBudgetMs({ OMNI_AUTH_RETRY_BUDGET: '2.5', CI: 'true' })).toBe(2_500);
    expect(retryBudgetMs({ OMNI_AUTH_RETRY_BUDGET: ' ', CI: 'true' })).toBe(CI_RETRY_BUDGET_SECONDS * 1000);
  });

  it('anything but a positive number of seconds is a usage error (exit 2) naming the variable', () => {
    for (const bad of ['0', '-5', 'ten', 'Infinity', '1e999']) {
      const e = (() => { try { retryBudgetMs({ OMNI_AUTH_RETRY_BUDGET: bad }); } catch (x) { return x; } return undefined; })() as OmniAuthError;
      expect(e).toBeInstanceOf(OmniAuthError);
      expect(e.code).toBe('invalid_retry_budget');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('OMNI_AUTH_RETRY_BUDGET');
    }
  });
});
