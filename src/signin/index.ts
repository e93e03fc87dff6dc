/**
 * Browser sign-in (Authorization Code + PKCE with a loopback callback, or paste-back), reached from
 * src/cli through this one module so that the build compiles it — and oauth4webapi — on first use
 * (scripts/build.mjs): the warm `token` path never loads it.
 */
export { signIn, DEFAULT_CALLBACK_PORT, DEFAULT_TIMEOUT_SECONDS, type SignInOptions, type SignInTokens } from './sign-in.js';
export { browserCommands, openBrowser } from './browser.js';
export { parsePasted } from './paste.js';
export { deviceSignIn, type DeviceSignInOptions, type DeviceTokens } from './device.js';
