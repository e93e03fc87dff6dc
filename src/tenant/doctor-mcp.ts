/**
 * Doctor's view of the MCP clients: which servers go through omni-auth. Informational — it warns,
 * never fails: a machine may use omni-auth without any MCP client (CI, `omni-auth exec`).
 */
import { pass, warn, type Check } from './doctor-check.js';

const TITLE = 'MCP clients';
const WIRE = 'run `omni-auth mcp wire` (or `omni-auth login`) to route the MCP clients through omni-auth';

export async function checkMcpClients(env: NodeJS.ProcessEnv, cwd: string): Promise<Check> {
  try {
    // Loaded here: only doctor needs the MCP config readers.
    const { listClients } = await import('../mcp/list.js');
    const { clients } = await listClients({ env, cwd });
    const wired: string[] = [];
    const expiring: string[] = [];
    const unreadable: string[] = [];
    for (const client of clients) {
      for (const file of client.files) {
        if (file.error) unreadable.push(`${file.path} (${file.error.message})`);
        for (const server of file.servers) {
          const name = `${client.name}: ${server.name}`;
          if (server.wiring === 'exec' || server.wiring === 'headers-helper') wired.push(name);
          else if (server.wiring) expiring.push(name);
        }
      }
    }
    if (unreadable.length > 0) return warn('mcp', TITLE, `cannot read ${unreadable.join('; ')}`, 'fix the file, then run doctor again');
    if (expiring.length > 0) {
      return warn('mcp', TITLE, `${expiring.join(', ')} hold${expiring.length === 1 ? 's' : ''} a copied token that expires`, WIRE);
    }
    if (wired.length === 0) return warn('mcp', TITLE, 'no MCP client server goes through omni-auth yet', WIRE);
    return pass('mcp', TITLE, `wired: ${wired.join(', ')}`);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return warn('mcp', TITLE, `could not list the MCP clients: ${why}`, 'run `omni-auth mcp list` for details');
  }
}
