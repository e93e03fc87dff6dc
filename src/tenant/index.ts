/**
 * What the CLI uses of tenant provisioning (`setup`, `doctor`): one entry point, so the build can
 * compile this whole subtree on first use (scripts/build.mjs).
 */
export { parseAllowedKeys, parseIdentity, readActionSource, type IdentityPolicy } from './action-bundle.js';
export { label } from './apply.js';
export { planView, type Plan, type PlanStep, type SetupInputs } from './plan.js';
export { setup } from './setup.js';
export { doctor } from './doctor.js';
export type { CheckStatus } from './doctor-check.js';
export { parsePermissions } from './rbac.js';
export { readCiActionSource, readTrustFile, markerCiPolicy, ruleLines, CI_ACTION_NAME } from './ci-policy.js';
