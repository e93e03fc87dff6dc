import { expect } from 'vitest';
import { loadAction } from './action-module.js';
import { createEvent, createFakeApi, type EventOptions, type FakeApi, type FakeCache, type Outcome } from './fake-api.js';

const handler = loadAction();

export interface Run extends FakeApi {
  result: Outcome;
}

/** One execution of the Action on a fresh fake api (sharing `cache` when given). */
export async function runAction(
  subjectToken: string,
  options: Omit<EventOptions, 'subjectToken'> & { cache?: FakeCache } = {},
): Promise<Run> {
  const { cache, ...eventOptions } = options;
  const fake = createFakeApi(cache ? { cache } : {});
  await handler(createEvent({ subjectToken, ...eventOptions }), fake.api);
  return { ...fake, result: fake.outcome() };
}

/**
 * One execution under the `machine` policy (IDENTITY=machine, merged into any secrets given): the
 * key-is-the-user behaviour the tests written before person-bound keys exercise. The default policy
 * (no IDENTITY) is `person`, which denies every unbound key — see action.binding.test.ts.
 */
export function runMachine(
  subjectToken: string,
  options: Omit<EventOptions, 'subjectToken'> & { cache?: FakeCache } = {},
): Promise<Run> {
  return runAction(subjectToken, { ...options, secrets: { IDENTITY: 'machine', ...options.secrets } });
}

/** The reason text quotes neither the token (nor any long piece of it) nor a secret value. */
export function expectNoLeak(reason: string, token: string, secrets: Record<string, string> = {}): void {
  // Short strings may occur in any text by chance; a token or a segment of 16+ characters does not.
  for (const piece of [token, ...token.split('.')]) if (piece.length >= 16) expect(reason).not.toContain(piece);
  for (const value of Object.values(secrets)) {
    for (const part of value.split(',')) if (part.trim().length >= 8) expect(reason).not.toContain(part.trim());
  }
}

export function expectRejected(run: Run, reason: RegExp, token: string, secrets: Record<string, string> = {}): void {
  expect(run.result).toMatchObject({ kind: 'reject', reason: expect.stringMatching(reason) });
  expect(run.calls.some((call) => call.method.startsWith('authentication.'))).toBe(false);
  if (run.result.kind === 'reject') expectNoLeak(run.result.reason, token, secrets);
}

export function expectDenied(run: Run, code: string, reason: RegExp, token: string, secrets: Record<string, string> = {}): void {
  expect(run.result).toMatchObject({ kind: 'deny', code, reason: expect.stringMatching(reason) });
  expect(run.calls.some((call) => call.method.startsWith('authentication.'))).toBe(false);
  if (run.result.kind === 'deny') expectNoLeak(run.result.reason, token, secrets);
}
