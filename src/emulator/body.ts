/**
 * Reads and parses a request body: `application/json` or `application/x-www-form-urlencoded`, at
 * most MAX_BODY_BYTES. Problems come back as values so the server can answer them in the style of
 * the API that was called (Authentication API vs Management API).
 */
import type { IncomingMessage } from 'node:http';

export type BodyProblem = 'too-large' | 'malformed-json' | 'duplicate-parameter' | 'unsupported-media-type';

export type BodyResult = { ok: true; body: unknown } | { ok: false; problem: BodyProblem; message: string };

async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  // Read to the end even when too large, so a keep-alive client still gets the 413 answer.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function parseForm(text: string): BodyResult {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    // RFC 6749 §3.2: request parameters must not be included more than once.
    if (Object.hasOwn(fields, name)) return { ok: false, problem: 'duplicate-parameter', message: `Duplicate parameter: ${name}` };
    fields[name] = value;
  }
  return { ok: true, body: fields };
}

export async function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const raw = await readRaw(req, limit);
  if (raw === undefined) {
    return { ok: false, problem: 'too-large', message: `Payload content length greater than maximum allowed: ${limit}` };
  }
  if (raw.length === 0) return { ok: true, body: undefined };
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const text = raw.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return { ok: true, body: JSON.parse(text) as unknown };
    } catch {
      return { ok: false, problem: 'malformed-json', message: 'Invalid request payload JSON format' };
    }
  }
  return { ok: false, problem: 'unsupported-media-type', message: `Unsupported Content-Type: ${type || '(none)'}` };
}
