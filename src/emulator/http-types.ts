/** The request/reply shapes every emulator route handler speaks (server.ts does the Node I/O). */
import type { IncomingHttpHeaders } from 'node:http';

export interface EmulatorRequest {
  method: string;
  /** The path as requested, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed body: a JSON value, or an object of form fields; undefined when empty. */
  body: unknown;
  /** The caller's IP address (for throttling). */
  ip: string;
}

export interface EmulatorReply {
  status: number;
  /** Serialised as JSON; undefined means no body (e.g. 204). */
  body?: unknown;
  /** An HTML page (the sign-in pages), sent as text/html instead of `body`. */
  html?: string;
  headers?: Record<string, string>;
}

/** A route handler: answers, or returns undefined when the request is not its. */
export type Handler = (req: EmulatorRequest) => Promise<EmulatorReply | undefined>;
