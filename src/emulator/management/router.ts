/** The Management API's route table: method + path pattern (`:name` segments) + the scope it needs. */
import type { EmulatorReply, EmulatorRequest } from '../http-types.js';
import type { Tenant } from '../state.js';

export interface RouteContext {
  tenant: Tenant;
  req: EmulatorRequest;
  /** Path parameters, URL-decoded. */
  params: Record<string, string>;
  /** The scopes of the caller's token (it holds the route's own scope). */
  scopes: readonly string[];
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** e.g. `/api/v2/actions/actions/:id/deploy`. */
  pattern: string;
  /** The scope the route needs; a list: any one of them (Auth0's "expected any of: a,b"). */
  scope: string | readonly string[];
  handle(ctx: RouteContext): EmulatorReply | Promise<EmulatorReply>;
}

export const json = (status: number, body: unknown): EmulatorReply => ({ status, body });
export const noContent = (): EmulatorReply => ({ status: 204 });

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      const value = decode(g);
      if (value === undefined || value === '') return undefined;
      params[w.slice(1)] = value;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/** The route for this method and path; a path known only for other methods does not match (Auth0: 404). */
export function findRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const params = matchPattern(route.pattern, path);
    if (params) return { route, params };
  }
  return undefined;
}
