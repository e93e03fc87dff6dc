import { describe, expect, it } from 'vitest';
import { isOmniAuthError, OmniAuthError, UsageError } from '../../src/util/errors.js';

describe('isOmniAuthError', () => {
  it('knows its own classes, and a copy of them (lazily compiled code) by shape', () => {
    expect(isOmniAuthError(new UsageError('x', 'y'))).toBe(true);
    class CopyOfOmniAuthError extends Error {
      code = 'provision_failed';
      exitCode = 1;
    }
    expect(isOmniAuthError(new CopyOfOmniAuthError('z'))).toBe(true);
    expect(isOmniAuthError(Object.assign(new Error('fs'), { code: 'ENOENT' }))).toBe(false);
    expect(isOmniAuthError(Object.assign(new Error('odd'), { code: 'x', exitCode: 42 }))).toBe(false);
    expect(isOmniAuthError({ code: 'x', exitCode: 1 })).toBe(false);
    expect(new OmniAuthError('c', 'm').exitCode).toBe(1);
  });
});
