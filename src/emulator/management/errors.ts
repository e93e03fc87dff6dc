/**
 * The Management API's error shape, `{statusCode, error, message, errorCode?}` (Auth0 answers
 * e.g. `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of:
 * create:actions","errorCode":"insufficient_scope"}`), thrown inside handlers and services.
 */
import { STATUS_CODES } from 'node:http';
import type { EmulatorReply } from '../http-types.js';

export class ManagementError extends Error {
  override readonly name = 'ManagementError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly errorCode?: string,
    /** Extra members Auth0 adds to some bodies (e.g. `attributes` on a 401). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  reply(): EmulatorReply {
    return {
      status: this.statusCode,
      body: {
        statusCode: this.statusCode,
        error: STATUS_CODES[this.statusCode] ?? 'Error',
        message: this.message,
        ...this.extra,
        ...(this.errorCode === undefined ? {} : { errorCode: this.errorCode }),
      },
    };
  }
}

/** A status, message and optional errorCode: one answer of the API, kept as data in rules.ts. */
export interface ErrorAnswer {
  status: number;
  message: string;
  errorCode?: string;
}

export const fail = (answer: ErrorAnswer, message = answer.message): ManagementError =>
  new ManagementError(answer.status, message, answer.errorCode);

/** 400 for a request body that breaks the schema, worded like Auth0's validator. */
export const invalidBody = (detail: string): ManagementError =>
  new ManagementError(400, `Payload validation error: ${detail}`, 'invalid_body');

/** 400 for a bad query string parameter. */
export const invalidQuery = (detail: string): ManagementError =>
  new ManagementError(400, `Query validation error: ${detail}`, 'invalid_query_string');
