/**
 * Auth0's namespace rule for `subject_token_type` (reference §1): a URI the customer owns, starting
 * with `https://` or `urn:`, outside the namespaces Auth0, Okta and the IETF reserve.
 */
export const RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES = [
  'http://auth0.com', 'https://auth0.com', 'http://okta.com', 'https://okta.com',
  'urn:ietf', 'urn:auth0', 'urn:okta',
] as const;

export type SubjectTokenTypeProblem = 'reserved' | 'not-a-namespace';

export function subjectTokenTypeProblem(value: string): SubjectTokenTypeProblem | undefined {
  const lower = value.toLowerCase();
  if (RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES.some((p) => lower.startsWith(p))) return 'reserved';
  if (!lower.startsWith('https://') && !lower.startsWith('urn:')) return 'not-a-namespace';
  return undefined;
}
