/** The format editors on the layouts users actually have: every byte outside the edit is kept. */
import { describe, expect, it } from 'vitest';
import { ConfigParseError, ConfigShapeError, EditCheckError, editorFor } from '../../src/mcp/formats/index.js';
import { changedRange, fixture } from './helpers.js';

const json = editorFor('jsonc');
const yaml = editorFor('yaml');
const toml = editorFor('toml');

/** Sets `path` to `value` and back, and returns the intermediate text; asserts the round trip. */
function roundTrip(ed: typeof json, text: string, path: string[], value: unknown): string {
  const before = ed.getIn(text, path);
  const changed = ed.setIn(text, path, value);
  expect(ed.getIn(changed, path)).toEqual(value);
  expect(ed.setIn(changed, path, before)).toBe(text);
  return changed;
}

const wiredArgs = (cmd: string, args: string[]) => ['/L', 'exec', '--env-var', 'T', '--', cmd, ...args];

describe('JSON / JSONC', () => {
  it('edits a minified file in place, without re-formatting it', () => {
    const text = '{"mcpServers":{"a":{"command":"x"},"s":{"command":"npx","args":["-y","s"]}},"z":1}';
    const out = roundTrip(json, text, ['mcpServers', 's'], { command: '/node', args: wiredArgs('npx', ['-y', 's']) });
    expect(out.split('\n')).toHaveLength(1);
    // The separator is copied from the array itself: no spaces here.
    expect(out.startsWith('{"mcpServers":{"a":{"command":"x"},"s":{"command":"/node","args":["/L","exec","--env-var","T","--","npx","-y"')).toBe(true);
    expect(out.endsWith('"-y","s"]}},"z":1}')).toBe(true);
  });

  it('keeps a one-line object on one line and a trailing comma where it was', () => {
    const text = '{\n  "s": { "command": "npx", "env": { "A": "1" }, },\n}\n';
    const out = roundTrip(json, text, ['s', 'env', 'T'], 'tok');
    expect(out).toBe('{\n  "s": { "command": "npx", "env": { "A": "1", "T": "tok" }, },\n}\n');
  });

  it('uses the file\'s indentation (tabs) and line endings (CRLF) for new lines', () => {
    const text = '{\r\n\t"servers": {\r\n\t\t"s": {\r\n\t\t\t"command": "npx"\r\n\t\t}\r\n\t}\r\n}\r\n';
    const out = roundTrip(json, text, ['servers', 's', 'env'], { T: 'tok' });
    expect(out).toBe('{\r\n\t"servers": {\r\n\t\t"s": {\r\n\t\t\t"command": "npx",\r\n\t\t\t"env": {\r\n\t\t\t\t"T": "tok"\r\n\t\t\t}\r\n\t\t}\r\n\t}\r\n}\r\n');
  });

  it('fills an empty object as a block, and empties it back to {}', () => {
    const text = '{\n    "mcpServers": {}\n}\n';
    const out = roundTrip(json, text, ['mcpServers', 'n'], { command: 'a', args: ['b'] });
    expect(out).toBe('{\n    "mcpServers": {\n        "n": {\n            "command": "a",\n            "args": ["b"]\n        }\n    }\n}\n');
  });

  it('keeps the spelling of a moved string (escapes included)', () => {
    const text = '{"s": {"command": "C:\\u005ctools\\u005csrv.exe", "args": []}}';
    const out = roundTrip(json, text, ['s'], { command: '/node', args: wiredArgs('C:\\tools\\srv.exe', []) });
    expect(out).toContain('"--", "C:\\u005ctools\\u005csrv.exe"]');
  });

  it('starts an empty file, and keeps the comments of a comment-only one', () => {
    expect(json.setIn('', ['mcpServers', 'n'], { command: 'a' })).toBe('{\n  "mcpServers": {\n    "n": {\n      "command": "a"\n    }\n  }\n}\n');
    expect(json.setIn('// my servers\n', ['servers', 'n'], { command: 'a' })).toBe('// my servers\n{\n  "servers": {\n    "n": {\n      "command": "a"\n    }\n  }\n}\n');
  });

  it('replaces a null container, and refuses one of the wrong type', () => {
    expect(json.getIn(json.setIn('{"mcpServers": null}', ['mcpServers', 'n'], { command: 'a' }), ['mcpServers'])).toEqual({ n: { command: 'a' } });
    expect(() => json.setIn('{"mcpServers": []}', ['mcpServers', 'n'], { command: 'a' })).toThrow(ConfigShapeError);
  });

  it('reports the line and column of a syntax error, and never edits such a file', async () => {
    const text = await fixture('broken/mcp.json');
    expect(json.parse(text)).toEqual({ error: { message: 'comma expected', line: 7, column: 5 } });
    expect(() => json.setIn(text, ['mcpServers', 'x'], {})).toThrow(ConfigParseError);
  });
});

describe('YAML', () => {
  const goose = 'extensions:\n  s:\n    args:\n    - -y\n    - "srv@1"\n    cmd: npx   # runs npx\n    envs: {}\n    enabled: true\nGOOSE_MODEL: x\n';

  it('splices a block sequence and keeps comments and their spacing', () => {
    const out = roundTrip(yaml, goose, ['extensions', 's'], { args: wiredArgs('npx', ['-y', 'srv@1']), cmd: '/node', envs: {}, enabled: true });
    expect(out).toBe('extensions:\n  s:\n    args:\n    - /L\n    - exec\n    - --env-var\n    - T\n    - --\n    - npx\n    - -y\n    - "srv@1"\n    cmd: /node   # runs npx\n    envs: {}\n    enabled: true\nGOOSE_MODEL: x\n');
  });

  it('fills a flow mapping in place and adds block pairs in the file\'s sequence style', () => {
    const out = roundTrip(yaml, goose, ['extensions', 's', 'envs', 'T'], 'tok');
    expect(out).toContain('    envs: {T: tok}\n');
    const indented = 'extensions:\n    a:\n        cmd: x\n        args:\n            - y\n';
    const added = roundTrip(yaml, indented, ['extensions', 'b'], { cmd: 'n', args: ['p'] });
    expect(added).toBe(`${indented}    b:\n        cmd: n\n        args:\n            - p\n`);
  });

  it('handles a file without a final line break and CRLF files', () => {
    roundTrip(yaml, 'extensions:\n  a:\n    cmd: x', ['extensions', 'b'], { cmd: 'y' });
    const crlf = goose.replace(/\n/g, '\r\n');
    const out = roundTrip(yaml, crlf, ['extensions', 's', 'headers'], { Authorization: 'Bearer t' });
    expect(out).not.toMatch(/[^\r]\n/);
  });

  it('refuses to edit through an alias, and reports syntax errors with line and column', async () => {
    const aliased = 'defaults: &d {A: "1"}\nextensions:\n  s:\n    cmd: x\n    envs: *d\n';
    expect(() => yaml.setIn(aliased, ['extensions', 's', 'envs'], { A: '1', T: 'tok' })).toThrow(EditCheckError);
    expect(yaml.parse(await fixture('broken/config.yaml'))).toMatchObject({ error: { line: 5, column: 5 } });
    expect(yaml.parse('a: 1\n---\nb: 2\n')).toMatchObject({ error: { line: 2 } });
  });

  it('quotes a plain scalar that cannot stand in a flow sequence (unwire then gives the same value, quoted)', () => {
    const text = 'extensions:\n  s:\n    cmd: srv,v2\n    args: []\n';
    const wired = yaml.setIn(text, ['extensions', 's'], { cmd: '/node', args: wiredArgs('srv,v2', []) });
    expect(wired).toContain('args: [/L, exec, --env-var, T, --, "srv,v2"]');
    const back = yaml.setIn(wired, ['extensions', 's'], { cmd: 'srv,v2', args: [] });
    expect(back).toBe('extensions:\n  s:\n    cmd: "srv,v2"\n    args: []\n');
  });

  it('writes an empty file\'s first pair itself', () => {
    expect(yaml.setIn('# goose\n', ['extensions', 'n'], { cmd: 'a', args: ['b'] })).toBe('# goose\nextensions:\n  n:\n    cmd: a\n    args:\n    - b\n');
  });
});

describe('TOML', () => {
  it('keeps literal strings and a multi-line array\'s layout and comments', async () => {
    const text = await fixture('codex/config.toml');
    const entry = toml.getIn(text, ['mcp_servers', 'omnispindle']) as Record<string, unknown>;
    const out = roundTrip(toml, text, ['mcp_servers', 'omnispindle'], { ...entry, command: '/node', args: wiredArgs(entry.command as string, entry.args as string[]) });
    expect(out).toContain(`  "--",\n  'C:\\tools\\node\\npx.cmd',\n  "-y",\n  "omnispindle@latest", # keep @latest\n`);
    const r = changedRange(text, out);
    expect(text.slice(0, r.start)).toContain('[mcp_servers.omnispindle]');
  });

  it('removes an added key without the comment line above it', () => {
    // patch() alone would delete "# trailing comment" together with the key added below it.
    const text = '[mcp_servers.s]\r\ncommand = "npx"\r\nargs = []\r\n# trailing comment\r\n\r\n[other]\r\nx = 1\r\n';
    const out = roundTrip(toml, text, ['mcp_servers', 's', 'env'], { T: 'tok' });
    expect(out).toContain('# trailing comment\r\nenv = {T = "tok"}\r\n');
  });

  it('edits dotted keys, inline tables and files without a final line break', () => {
    roundTrip(toml, 'mcp_servers.s.command = "npx"\nmcp_servers.s.args = ["a"]\n', ['mcp_servers', 's', 'args'], wiredArgs('npx', ['a']));
    roundTrip(toml, '[mcp_servers]\ns = { command = "npx", args = ["a"] }\n', ['mcp_servers', 's', 'env'], { T: 'tok' });
    roundTrip(toml, '[mcp_servers.s]\ncommand = "npx"', ['mcp_servers', 's', 'args'], wiredArgs('npx', []));
  });

  it('adds a new server as its own [mcp_servers.NAME] section', () => {
    expect(toml.setIn('', ['mcp_servers', 'n'], { command: 'a', args: ['b'], env: {} })).toBe('[mcp_servers.n]\ncommand = "a"\nargs = ["b"]\nenv = {}\n');
    expect(toml.setIn('model = "x"\n', ['mcp_servers', 'my server'], { url: 'u' })).toBe('model = "x"\n\n[mcp_servers."my server"]\nurl = "u"\n');
    // Under an inline table a section is not valid TOML: patch() extends the inline table instead.
    const inline = toml.setIn('mcp_servers = { a = { url = "x" } }\n', ['mcp_servers', 'n'], { url: 'y' });
    expect(toml.getIn(inline, ['mcp_servers'])).toEqual({ a: { url: 'x' }, n: { url: 'y' } });
  });

  it('reports syntax errors with line and column', async () => {
    expect(toml.parse(await fixture('broken/config.toml'))).toEqual({ error: { message: 'Expected "]"', line: 5, column: 8 } });
  });
});

describe('setMany (JSON: each change made on its container alone)', () => {
  const servers = (n: number, eol: string, ind: string) => {
    const projects = Array.from({ length: n }, (_, i) =>
      `${ind}${ind}"/p${i}": {${eol}${ind}${ind}${ind}"history": ["a \\"}\\" b", "/* c */"],${eol}${ind}${ind}${ind}"mcpServers": {${i % 2 ? '' : `${eol}${ind}${ind}${ind}${ind}"s": {"command": "x", "env": {}}${eol}${ind}${ind}${ind}`}}${eol}${ind}${ind}}`);
    return `{${eol}${ind}"mcpServers": {${eol}${ind}${ind}"s": {"command": "npx"}${eol}${ind}},${eol}${ind}"projects": {${eol}${projects.join(`,${eol}`)}${eol}${ind}}${eol}}${eol}`;
  };

  it.each([['\n', '  '], ['\r\n', '\t'], ['\n', '    ']])('gives the same text as one setIn after another (eol %j, indent %j)', (eol, ind) => {
    const text = servers(6, eol, ind);
    const changes = [
      { path: ['mcpServers', 's'], value: { command: '/node', args: wiredArgs('npx', []), env: { T: 'x' } } },
      ...[0, 2, 4].map((i) => ({ path: ['projects', `/p${i}`, 'mcpServers', 's'], value: { command: '/node', args: wiredArgs('x', []), env: { T: 'y' } } })),
      // A new entry in an empty container: its layout comes from the file around it.
      { path: ['projects', '/p1', 'mcpServers', 'added'], value: { command: 'c', env: {} } },
    ];
    const one = changes.reduce((t, c) => json.setIn(t, c.path, c.value), text);
    expect(json.setMany(text, changes)).toBe(one);
    // And back.
    const undo = changes.map((c) => ({ path: c.path, value: json.getIn(text, c.path) }));
    expect(json.setMany(one, undo)).toBe(text);
  });

  it('takes the last of duplicated keys, as parsing does', () => {
    const text = '{"mcpServers": {"s": {"command": "old"}}, "mcpServers": {"s": {"command": "npx"}}}';
    const out = json.setMany(text, [{ path: ['mcpServers', 's'], value: { command: 'new' } }]);
    expect(out).toBe('{"mcpServers": {"s": {"command": "old"}}, "mcpServers": {"s": {"command": "new"}}}');
  });
});

describe('YAML block mappings', () => {
  it('a block mapping that loses its only key becomes {} (not an error)', () => {
    const text = 'extensions:\n  s:\n    cmd: npx\n    envs:\n      AUTH0_TOKEN: abc\n    timeout: 300\n';
    expect(yaml.setIn(text, ['extensions', 's', 'envs'], {})).toBe('extensions:\n  s:\n    cmd: npx\n    envs: {}\n    timeout: 300\n');
    const last = 'extensions:\n  s:\n    cmd: npx\n    headers:\n      Authorization: Bearer abc';
    expect(yaml.setIn(last, ['extensions', 's', 'headers'], {})).toBe('extensions:\n  s:\n    cmd: npx\n    headers: {}');
  });
});
