import { hostname, userInfo } from 'node:os';

/** Names only, never secrets: shown in Auth0 as the user's display name `<user>@<host>`. */
export interface MachineInfo {
  host: string;
  user: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // userInfo() throws when the uid has no passwd entry (some containers).
    user = process.env.USER ?? process.env.USERNAME ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return { host: hostname(), user, platform: process.platform };
}
