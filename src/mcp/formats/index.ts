/** One editor per file format, and the server-level operations every caller uses. */
import { jsoncEditor } from './jsonc.js';
import { tomlEditor } from './toml.js';
import { yamlEditor } from './yaml.js';
import type { FormatEditor } from './types.js';

export type ConfigFormat = 'json' | 'jsonc' | 'toml' | 'yaml';

/**
 * JSON files go through the JSONC editor too: it accepts comments and trailing commas a user may have
 * left in a "JSON" file, and it never adds any, so what was valid JSON stays valid JSON.
 */
export function editorFor(format: ConfigFormat): FormatEditor {
  switch (format) {
    case 'json':
    case 'jsonc':
      return jsoncEditor;
    case 'toml':
      return tomlEditor;
    case 'yaml':
      return yamlEditor;
  }
}

export function getServer(editor: FormatEditor, text: string, container: readonly string[], name: string): unknown {
  return editor.getIn(text, [...container, name]);
}

export function setServer(editor: FormatEditor, text: string, container: readonly string[], name: string, entry: unknown): string {
  return editor.setIn(text, [...container, name], entry);
}

export function deleteServer(editor: FormatEditor, text: string, container: readonly string[], name: string): string {
  return editor.setIn(text, [...container, name], undefined);
}

export type { FormatEditor, ParseFailure, ParseResult } from './types.js';
export { ConfigParseError, ConfigShapeError, EditCheckError } from './types.js';
