/** The command lines the warm entry answers itself; everything else is commander's (the full CLI's). */
import { describe, expect, it } from 'vitest';
import { parseWarmArgs } from '../../src/warm/argv.js';

describe('parseWarmArgs', () => {
  it('gives token the defaults of src/cli/main.ts', () => {
    expect(parseWarmArgs(['token'])).toEqual({ name: 'token', opts: { minTtl: 300, format: 'raw' } });
  });

  it('takes --flag value and --flag=value, the last one winning, each value through the CLI parser', () => {
    expect(parseWarmArgs(['token', '--format=json', '--min-ttl', '60', '--format', 'header', '--domain', 'd', '--client-id=c', '--audience', 'a', '--scope', 'openid email', '--subject-token-type', 'urn:x']))
      .toEqual({ name: 'token', opts: { minTtl: 60, format: 'header', domain: 'd', clientId: 'c', audience: 'a', scope: 'openid email', subjectTokenType: 'urn:x' } });
  });

  it('takes --ca-file (read only when a request is made, which a warm answer never does)', () => {
    expect(parseWarmArgs(['token', '--ca-file', '/no/such.pem', '--format=json'])).toEqual({ name: 'token', opts: { minTtl: 300, format: 'json', caFile: '/no/such.pem' } });
    expect(parseWarmArgs(['token', '--ca-file=ca.pem'])).toEqual({ name: 'token', opts: { minTtl: 300, format: 'raw', caFile: 'ca.pem' } });
  });

  it('gives exec the defaults of src/cli/main.ts and the command after --', () => {
    expect(parseWarmArgs(['exec', '--', 'node'])).toEqual({
      name: 'exec', command: ['node'], opts: { envVar: 'AUTH0_TOKEN', minTtl: 300, browser: true, callbackPort: 8765, signinTimeout: 300 },
    });
  });

  it('takes exec\'s options in both forms, the last one winning, each value through the CLI parser; the command is left as it is', () => {
    expect(parseWarmArgs(['exec', '--env-var', 'T', '--min-ttl=5', '--token-file-var', 'F', '--no-browser', '--callback-port=9000', '--signin-timeout', '60',
      '--domain', 'd', '--ca-file=ca.pem', '--env-var=U', '--', 'node', '--inspect', '-e', '0', '--', '--env-var', 'X'])).toEqual({
      name: 'exec', command: ['node', '--inspect', '-e', '0', '--', '--env-var', 'X'],
      opts: { envVar: 'U', minTtl: 5, tokenFileVar: 'F', browser: false, callbackPort: 9000, signinTimeout: 60, domain: 'd', caFile: 'ca.pem' },
    });
  });

  it.each([
    [[]], [['status']], [['--version']], [['token', '--help']], [['token', '-h']], [['token', '--bogus']],
    [['token', 'extra']], [['token', '--']], [['token', '--format']], [['token', '--format', 'yaml']], [['token', '--format=']],
    [['token', '--min-ttl', 'soon']], [['token', '--min-ttl', '-1']], [['token', '--min-ttl', '1.5']], [['token', '--min-ttl', '60', '--min-ttl', 'x']],
    [['token', '--domain', '--client-id']], [['token', '--ca-file']], [['token', '--no-browser']], [['token', '--token-file-var', 'X']], [['token', '--env-var', 'X']], [['exec', '--format', 'json', '--', 'node']],
    [['exec', 'node', '-e', '0']], [['exec', '--']], [['exec', '--env-var']], [['token', '--Format', 'json']],
    [['exec', '--env-var', '--', 'node']], [['exec', '--min-ttl', 'soon', '--', 'node']], [['exec', '--callback-port', '0', '--', 'node']],
    [['exec', '--signin-timeout', '0', '--', 'node']], [['exec', '--no-browser=1', '--', 'node']], [['exec', '--browser', '--', 'node']],
    [['exec', '--help', '--', 'node']], [['exec', '-e', '--', 'node']], [['exec', '--bogus', '--', 'node']], [['exec', '--min-ttl', '5', 'node', '--', 'x']],
  ])('leaves %j to the full CLI', (args) => {
    expect(parseWarmArgs(args)).toBeUndefined();
  });
});
