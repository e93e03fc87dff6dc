/**
 * The `api` object of the custom-token-exchange trigger, and the outcome it records.
 * Precedence and the other choices Auth0 leaves open are listed in ../action-runtime.ts.
 */
import { actionFacingCache, type ActionCacheApi } from './cache-api.js';
import type { ActionOutcome, UserChoice } from './types.js';
import { userByConnection, userById, type Checked } from './user-choice.js';

/** How the Action's execution ended, as seen by the runner. */
export type RunEnd = { kind: 'returned' } | { kind: 'failed'; reason: string };

export interface CteApi {
  /** The object passed to the Action as `api`. */
  api: object;
  /** Stops recording: calls made by work the Action left behind change nothing. */
  close(): void;
  outcome(end: RunEnd): ActionOutcome;
}

export function createCteApi(cache: ActionCacheApi, realmTypeError: (message: string) => Error): CteApi {
  let open = true;
  let decision: Extract<ActionOutcome, { kind: 'rejected' | 'denied' }> | undefined;
  let user: UserChoice | undefined;
  let userCalls = 0;
  let misuse: string | undefined;
  let organization: string | undefined;
  let actor: Record<string, unknown> | undefined;
  const appMetadata: Record<string, unknown> = {};
  const userMetadata: Record<string, unknown> = {};

  // After reject/deny, or once the run is over, calls are ignored.
  const recording = (): boolean => open && decision === undefined;
  // A wrong call fails the exchange even if the Action catches the error it throws.
  const wrongCall = (message: string): never => {
    misuse ??= message;
    throw realmTypeError(message);
  };
  const checked = <T>(result: Checked<T>): T => (result.ok ? result.value : wrongCall(result.error));
  const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  const jsonCopy = (method: string, value: unknown): unknown => {
    if (value === null) return null;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    return json === undefined ? wrongCall(`${method}: the value must be JSON (or null to delete)`) : JSON.parse(json);
  };
  const setMetadata = (method: string, target: Record<string, unknown>, key: unknown, value: unknown): void => {
    if (!recording()) return;
    if (typeof key !== 'string' || key === '') wrongCall(`${method}: the name must be a non-empty string`);
    target[key as string] = jsonCopy(method, value);
  };
  const setUser = (choice: () => UserChoice): void => {
    if (!recording()) return;
    const chosen = choice();
    userCalls += 1;
    user ??= chosen;
  };

  const api = {
    access: {
      rejectInvalidSubjectToken(reason?: unknown) {
        if (recording()) decision = { kind: 'rejected', reason: text(reason) };
        return api;
      },
      deny(code: unknown, reason?: unknown) {
        if (!recording()) return api;
        if (typeof code !== 'string' || code === '') wrongCall('api.access.deny: code must be a non-empty string');
        decision = { kind: 'denied', code: code as string, reason: text(reason) };
        return api;
      },
    },
    authentication: {
      setUserById(userId: unknown) {
        setUser(() => checked(userById(userId)));
        return api;
      },
      setUserByConnection(connection: unknown, attributes: unknown, options: unknown) {
        setUser(() => checked(userByConnection(connection, attributes, options)));
        return api;
      },
      setOrganization(idOrName: unknown) {
        if (!recording()) return api;
        if (typeof idOrName !== 'string' || idOrName === '') {
          wrongCall('setOrganization: the organization id or name must be a non-empty string');
        }
        organization = idOrName as string;
        return api;
      },
      setActor(value: unknown) {
        if (!recording()) return api;
        const copy = jsonCopy('setActor', value);
        if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
          wrongCall('setActor: the actor must be an object');
        }
        const sub = (copy as Record<string, unknown>).sub;
        if (typeof sub !== 'string' || sub === '') wrongCall('setActor: the actor needs a non-empty string "sub"');
        actor = copy as Record<string, unknown>;
        return api;
      },
    },
    user: {
      setAppMetadata(key: unknown, value: unknown) {
        setMetadata('setAppMetadata', appMetadata, key, value);
        return api;
      },
      setUserMetadata(key: unknown, value: unknown) {
        setMetadata('setUserMetadata', userMetadata, key, value);
        return api;
      },
    },
    cache: actionFacingCache(cache),
  };

  return {
    api,
    close() {
      open = false;
    },
    outcome(end) {
      if (decision) return decision;
      if (end.kind === 'failed') return { kind: 'failed', reason: end.reason };
      if (misuse) return { kind: 'failed', reason: misuse };
      if (userCalls === 0 || !user) {
        return {
          kind: 'failed',
          reason: 'no user was set: the Action must call api.authentication.setUserById or setUserByConnection once',
        };
      }
      if (userCalls > 1) {
        return { kind: 'failed', reason: `the Action set the user ${userCalls} times; exactly one setUserById or setUserByConnection is allowed` };
      }
      return {
        kind: 'user',
        user,
        appMetadata: { ...appMetadata },
        userMetadata: { ...userMetadata },
        ...(organization !== undefined ? { organization } : {}),
        ...(actor !== undefined ? { actor } : {}),
      };
    },
  };
}
