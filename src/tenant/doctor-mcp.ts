/**
 * Doctor's view of the MCP clients: which servers go through omni-auth. Informational — it warns,
 * never fails: a machine may use omni-auth without any MCP client (CI, `omni-auth exec`).
 */
import { pass, warn, type Check } from './doctor-check.js';

const TITLE = 'MCP clients';
const LIST = '`omni-auth mcp list` shows every client and server';

export async function checkMcpClients(env: NodeJS.ProcessEnv, cwd: string): Promise<Check> {
  try {
    // Loaded here: only doctor needs the MCP config readers.
    const { listClients } = await import('../mcp/list.js');
    const { clients } = await listClients({ env, cwd });
    const wired: string[] = [];
    const expiring: string[] = [];
    const expiringServers = new Set<string>();
    const unreadable: string[] = [];
    let servers = 0;
    for (const client of clients) {
      for (const file of client.files) {
        if (file.error) unreadable.push(`${file.path} (${file.error.message})`);
        for (const server of file.servers) {
          servers++;
          const name = `${client.name}: ${server.name}`;
          if (server.wiring === 'exec' || server.wiring === 'headers-helper') wired.push(name);
          else if (server.wiring) {
            expiring.push(name);
            expiringServers.add(server.name);
          }
        }
      }
    }
    if (unreadable.length > 0) return warn('mcp', TITLE, `cannot read ${unreadable.join('; ')}`, `fix the file, then run doctor again (${LIST})`);
    if (expiring.length > 0) {
      // Wiring again (exec mode) gives a fresh token at each start where the client can run a command
      // (stdio, headersHelper); a client that only takes static headers gets a renewed copy.
      const wire = [...expiringServers].map((s) => `\`omni-auth mcp wire --server ${s}\``).join(', ');
      return warn('mcp', TITLE, `${expiring.join(', ')} hold${expiring.length === 1 ? 's' : ''} a copied token that expires`,
        `run ${wire}: a fresh token at every start where the client can run a command, else a renewed copy`);
    }
    if (wired.length === 0) {
      return warn('mcp', TITLE, 'no MCP client server goes through omni-auth yet', servers > 0
        ? `route a server through omni-auth: \`omni-auth mcp wire --server <name>\` (${LIST})`
        : 'add one: `omni-auth mcp add <name> --url <url>` (or `-- <command>` for a local server)');
    }
    return pass('mcp', TITLE, `wired: ${wired.join(', ')}`);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return warn('mcp', TITLE, `could not list the MCP clients: ${why}`, 'run `omni-auth mcp list` for details');
  }
}
