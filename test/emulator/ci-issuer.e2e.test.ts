/**
 * The emulator's stand-in CI issuer (issue 14 §1) and the provisioned CI Action end to end: discovery
 * and JWKS verified with jose's remote key set (a client we did not write), the GitHub-style request
 * URL, and exchanges of its tokens under the profile `urn:omni-auth:ci-oidc`.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call, exchange } from './helpers.js';

const CI_TYPE = 'urn:omni-auth:ci-oidc';
let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

const path = (url: string): string => url.slice(emu.domain.length);

async function requestCiToken(query: string, token = emu.info().ci.request_token): Promise<{ status: number; body: any }> {
  return call(emu, 'GET', path(`${emu.info().ci.request_url}${query}`), { headers: { authorization: `Bearer ${token}` } });
}

describe('the stand-in CI issuer', () => {
  it('is named in the JSON line with a request URL in GitHub\'s shape', () => {
    const { ci } = emu.info();
    expect(ci.issuer).toBe(`${emu.domain}/__ci`);
    expect(ci.request_url).toBe(`${ci.issuer}/idtoken?api-version=2.0`);
    expect(ci.request_token.length).toBeGreaterThanOrEqual(32);
    expect(ci.user).toMatch(/^auth0\|/);
  });

  it('publishes discovery and a JWKS that verify its tokens, with GitHub\'s claim names', async () => {
    const discovery = await call(emu, 'GET', '/__ci/.well-known/openid-configuration');
    expect(discovery.body).toMatchObject({ issuer: emu.info().ci.issuer, jwks_uri: `${emu.info().ci.issuer}/.well-known/jwks` });
    const res = await requestCiToken(`&audience=${encodeURIComponent(emu.issuer)}`);
    expect(res.status).toBe(200);
    const { payload, protectedHeader } = await jwtVerify(res.body.value, createRemoteJWKSet(new URL(discovery.body.jwks_uri)), {
      issuer: emu.info().ci.issuer, audience: emu.issuer,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: 'repo:acme/api:ref:refs/heads/main', repository: 'acme/api', repository_owner: 'acme', ref: 'refs/heads/main',
      ref_type: 'branch', event_name: 'push', job_workflow_ref: 'acme/api/.github/workflows/ci.yml@refs/heads/main',
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.nbf).toBeLessThan(payload.iat!);
  });

  it('turns the URL\'s other query parameters into claims and derives sub from them', async () => {
    const res = await requestCiToken('&audience=x&repository=globex/web&environment=prod&workflow=Deploy');
    const claims = decodeJwt(res.body.value);
    expect(claims).toMatchObject({ aud: 'x', repository: 'globex/web', repository_owner: 'globex', environment: 'prod', workflow: 'Deploy', sub: 'repo:globex/web:environment:prod' });
  });

  it('defaults the audience to GitHub\'s (the owner\'s URL), and takes ?audience= on a bare URL', async () => {
    expect(decodeJwt((await requestCiToken('')).body.value).aud).toBe('https://github.com/acme');
    const bare = await call(emu, 'GET', '/__ci/idtoken?audience=y', { headers: { authorization: `Bearer ${emu.info().ci.request_token}` } });
    expect(decodeJwt(bare.body.value).aud).toBe('y');
  });

  it('refuses a missing or wrong request token, and claims that are the issuer\'s own', async () => {
    expect((await call(emu, 'GET', path(emu.info().ci.request_url))).status).toBe(401);
    expect((await requestCiToken('', 'wrong-token')).status).toBe(401);
    expect((await requestCiToken('&iss=https://evil.example')).status).toBe(400);
  });
});

describe('the provisioned CI profile', () => {
  const exchangeCi = (subjectToken: string) => exchange(emu, subjectToken, { subject_token_type: CI_TYPE });

  it('gives the policy\'s service user a token for a matching job', async () => {
    const ciToken = (await requestCiToken(`&audience=${encodeURIComponent(emu.issuer)}`)).body.value as string;
    const res = await exchangeCi(ciToken);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(decodeJwt(res.body.access_token).sub).toBe(emu.info().ci.user);
  });

  it('denies a job no rule matches, naming its sub', async () => {
    const ciToken = (await requestCiToken(`&audience=${encodeURIComponent(emu.issuer)}&ref=refs/heads/feature`)).body.value as string;
    const res = await exchangeCi(ciToken);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'access_denied', error_description: expect.stringContaining('repo:acme/api:ref:refs/heads/feature') });
  });

  it('refuses a token for another audience as an invalid subject token', async () => {
    const ciToken = (await requestCiToken('&audience=https://other.example/')).body.value as string;
    const res = await exchangeCi(ciToken);
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/audience/);
  });

  it('does not let a CI token through the machine profile', async () => {
    const ciToken = (await requestCiToken(`&audience=${encodeURIComponent(emu.issuer)}`)).body.value as string;
    const res = await exchange(emu, ciToken);
    expect(res.status).toBe(400);
  });
});
