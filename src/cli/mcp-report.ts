/**
 * What `login`, `logout` and `mcp wire|unwire|add` tell a person about MCP client configs, on stderr:
 * per file what changed — or, on a dry run, a unified diff — where the backup is and how the client
 * picks the change up; which entries now hold a token that will expire, and when. Returns the exit
 * code: that of the first file that failed (an unparsable file: 2), else 2 when wire left an entry alone
 * (skipped), else 0.
 */
import { maskDiffSecrets, POLICY_CODES, tokenHolders, unifiedDiff, type FileReport, type McpReport, type ServerReport, type Wiring } from '../mcp/index.js';
import { ExitCode, isOmniAuthError } from '../util/errors.js';
import { dim, green, info, red, warn, yellow } from './output.js';
import { describeExpiry } from './time.js';

export interface PrintOptions {
  action: 'wire' | 'unwire' | 'add';
  dryRun?: boolean;
  /** When the stored token expires (unknown on a dry run: none is fetched). */
  expiresAt?: number;
  /** Said when no file was concerned at all. */
  nothing?: string;
}

const HOW: Record<Wiring, string> = {
  exec: 'omni-auth exec: a fresh token at every start, none stored',
  'headers-helper': 'headersHelper: omni-auth token, none stored',
  'env-token': 'token stored in its env',
  'header-token': 'token stored in its headers',
};

/** The dry-run diff with the users' secrets (and any token) masked, in every kind of line (src/mcp/diff.ts). */
export const maskSecrets = maskDiffSecrets;

export function printMcpReport(report: McpReport, o: PrintOptions): number {
  if (report.files.length === 0 && o.nothing) info(o.nothing);
  for (const file of report.files) printFile(file, o);

  const holders = tokenHolders(report);
  if (holders.length > 0) {
    const names = holders.map(({ file, server }) => `${file.clientName} "${server.name}" (${file.path})`).join(', ');
    const when = o.expiresAt !== undefined ? `, which ${describeExpiry(o.expiresAt)}` : '';
    warn(`${names} ${o.dryRun ? 'would hold' : 'now hold' + (holders.length === 1 ? 's' : '')} a copy of the access token${when}: `
      + 'run `omni-auth login` again before it expires (stdio servers can use --mode exec instead, which stores none)');
  }
  const failed = report.files.find((f) => f.status === 'error');
  if (failed) return isOmniAuthError(failed.error) ? failed.error.exitCode : ExitCode.internal;
  // An entry left alone because it could not be wired safely (a value of the user's own under the
  // variable, its own auth source, a foreign header): warned about above, and not done.
  if (o.action === 'wire' && report.files.some((f) => f.servers.some((s) => s.outcome === 'skipped'))) return ExitCode.usage;
  // An entry the token policy left alone (project file, plain-http URL) is not what was asked: exit 2.
  if (report.files.some((f) => f.servers.some((s) => s.outcome === 'skipped' && s.code !== undefined && POLICY_CODES.includes(s.code)))) return ExitCode.usage;
  // `mcp add` that added nothing anywhere (every client skipped it) did not do what was asked.
  if (o.action === 'add' && report.files.length > 0 && !report.files.some((f) => f.servers.some((s) => s.outcome === 'added'))) {
    info('nothing was added: every selected client skipped the server (see the reasons above)');
    return ExitCode.usage;
  }
  return ExitCode.ok;
}

function printFile(file: FileReport, o: PrintOptions): void {
  const title = `${file.clientName}  ${file.path}`;
  switch (file.status) {
    case 'error': {
      const e = file.error;
      info(`${red('✗')} ${file.clientName}: ${e?.message ?? 'failed'}${isOmniAuthError(e) ? ` ${dim(`[${e.code}]`)}` : ''}`);
      if (isOmniAuthError(e) && e.hint) info(`    ${dim('hint:')} ${e.hint}`);
      return;
    }
    case 'missing':
      info(`- ${title}  ${dim('(no such file)')}`);
      return;
    case 'no-server':
      info(`- ${title}  ${dim(o.action === 'unwire' ? '(nothing wired through omni-auth)' : '(no such server)')}`);
      return;
    case 'would-change':
      info(`${yellow('~')} ${title}  ${dim('(dry run: not written)')}`);
      break;
    case 'changed':
      info(`${green('✓')} ${title}`);
      break;
    case 'unchanged':
      info(`= ${title}`);
      break;
  }
  for (const s of file.servers) printServer(s, file, o);
  if (file.status === 'would-change') {
    const diff = unifiedDiff(file.before, file.after, { from: file.path, to: file.path });
    process.stderr.write(maskSecrets(diff));
  }
  if (file.status === 'changed') {
    if (file.backup) info(`    ${dim('backup')}  ${file.backup}`);
    info(`    ${dim('to apply:')} ${file.reload}`);
  }
}

function printServer(s: ServerReport, file: FileReport, o: PrintOptions): void {
  const would = o.dryRun ? 'would be ' : '';
  const how = s.wiring ? ` (${HOW[s.wiring]})` : '';
  const where = s.location.length > 1 ? dim(`  in ${s.location.join(' > ')}`) : '';
  switch (s.outcome) {
    case 'wired':
      info(`    ${s.name}: ${would}routed through omni-auth${how}${where}`);
      break;
    case 'added':
      info(`    ${s.name}: ${would}added, routed through omni-auth${how}${where}`);
      break;
    case 'unwired':
      info(`    ${s.name}: ${would}restored to its entry from before omni-auth${where}`);
      break;
    case 'unchanged':
      info(`    ${s.name}: ${o.action === 'unwire' ? 'nothing to restore' : s.byHand ? 'already routed through omni-auth by its own `omni-auth exec` (left as it is)' : `already routed through omni-auth${how}`}${where}`);
      break;
    case 'skipped':
      warn(`${file.clientName} "${s.name}" (${file.path}) left as it is: ${s.reason ?? s.code ?? 'skipped'}`);
      break;
  }
  if (s.tokenLeft) {
    warn(`${file.clientName} "${s.name}" (${file.path}) still holds a token omni-auth cannot tell is its own `
      + '(not issued by the tenant of the current settings); remove it by hand if it is');
  }
}
