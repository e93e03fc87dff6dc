/**
 * List answers as Auth0 shapes them: offset pagination (`page`, `per_page`, `include_totals`),
 * checkpoint pagination (`from`, `take` → `next`) and field selection (`fields`, `include_fields`).
 */
import { invalidQuery } from './errors.js';
import { PAGE } from './rules.js';
import { queryBoolean, queryInteger } from './validate.js';

export interface Offset {
  page: number;
  perPage: number;
}

export function offsetOf(query: URLSearchParams): Offset {
  return {
    page: queryInteger(query, 'page', 0, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    perPage: queryInteger(query, 'per_page', PAGE.perPageDefault, { min: 1, max: PAGE.perPageMax }),
  };
}

export function pageOf<T>(items: readonly T[], { page, perPage }: Offset): T[] {
  return items.slice(page * perPage, (page + 1) * perPage);
}

/**
 * `GET /clients`-style lists: a bare array, or with `include_totals=true` the envelope
 * `{[key]: [...], start, limit, length, total}`.
 */
export function offsetList(key: string, items: readonly unknown[], query: URLSearchParams): unknown {
  const offset = offsetOf(query);
  const slice = pageOf(items, offset);
  if (queryBoolean(query, 'include_totals') !== true) return slice;
  return { [key]: slice, start: offset.page * offset.perPage, limit: offset.perPage, length: slice.length, total: items.length };
}

/**
 * Checkpoint pagination: `from` is the `next` of the previous page (here the id of the first item of
 * the page, an opaque value for callers); `next` is absent on the last page.
 */
export function checkpointList<T>(key: string, items: readonly T[], idOf: (item: T) => string, query: URLSearchParams): Record<string, unknown> {
  const take = queryInteger(query, 'take', PAGE.takeDefault, { min: 1, max: PAGE.takeMax });
  const from = query.get('from');
  let start = 0;
  if (from !== null && from !== '') {
    start = items.findIndex((item) => idOf(item) === from);
    if (start < 0) throw invalidQuery(`'from' is not a checkpoint of this list.`);
  }
  const slice = items.slice(start, start + take);
  const following = items[start + take];
  return { [key]: slice, ...(following === undefined ? {} : { next: idOf(following) }) };
}

/** Applies `fields` (comma separated) and `include_fields` (default true) to one object. */
export function selectFields(object: Record<string, unknown>, query: URLSearchParams): Record<string, unknown> {
  const fields = (query.get('fields') ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (fields.length === 0) return object;
  const include = queryBoolean(query, 'include_fields') ?? true;
  return Object.fromEntries(Object.entries(object).filter(([k]) => fields.includes(k) === include));
}
