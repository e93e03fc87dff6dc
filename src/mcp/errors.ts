/** The user-facing errors of the MCP-config code, each naming the file it is about. */
import { OmniAuthError, UsageError } from '../util/errors.js';
import { ConfigParseError, ConfigShapeError, EditCheckError } from './formats/index.js';

/** Turns an editor's error into one that names the file; other errors pass through unchanged. */
export function configError(path: string, e: unknown): unknown {
  if (e instanceof ConfigParseError) {
    const { message, line, column } = e.failure;
    return new UsageError('config_unparsable', `cannot parse ${path}: ${message} at line ${line}, column ${column}`, {
      hint: 'fix that line (omni-auth never writes a file it cannot parse), then run the command again',
      details: { path, line, column },
    });
  }
  if (e instanceof ConfigShapeError) {
    return new UsageError('config_unexpected_shape', `${path}: ${e.message}`, {
      hint: 'fix the file by hand (omni-auth left it unchanged), then run the command again',
      details: { path },
    });
  }
  if (e instanceof EditCheckError) {
    return new OmniAuthError('config_edit_failed', `could not edit ${path} safely (${e.message}); it was left unchanged`, {
      hint: 'edit the entry by hand, and please report the file layout that caused this',
      details: { path },
    });
  }
  return e;
}

export function notUtf8(path: string): UsageError {
  return new UsageError('config_unparsable', `cannot parse ${path}: it is not UTF-8 text`, {
    hint: 'save the file as UTF-8 (omni-auth never writes a file it cannot parse), then run the command again',
    details: { path },
  });
}
