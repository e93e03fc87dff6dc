/** The local Auth0 tenant emulator: `startEmulator()` and the types of what it returns. */
export { startEmulator, type Emulator, type EmulatorInfo, type EmulatorOptions } from './server.js';
export type { EmulatorSettings, Tenant } from './state.js';
