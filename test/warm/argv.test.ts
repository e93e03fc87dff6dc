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

  it('takes exec with its options and the command after --', () => {
    expect(parseWarmArgs(['exec', '--env-var', 'T', '--min-ttl=5', '--', 'node', '--inspect', '-e', '0']))
      .toEqual({ name: 'exec', command: ['node', '--inspect', '-e', '0'], opts: { envVar: 'T', minTtl: 5 } });
    expect(parseWarmArgs(['exec', '--', 'node'])).toEqual({ name: 'exec', command: ['node'], opts: { envVar: 'AUTH0_TOKEN', minTtl: 300 } });
  });

  it.each([
    [[]], [['status']], [['--version']], [['token', '--help']], [['token', '-h']], [['token', '--bogus']],
    [['token', 'extra']], [['token', '--']], [['token', '--format']], [['token', '--format', 'yaml']], [['token', '--format=']],
    [['token', '--min-ttl', 'soon']], [['token', '--min-ttl', '-1']], [['token', '--min-ttl', '1.5']], [['token', '--min-ttl', '60', '--min-ttl', 'x']],
    [['token', '--domain', '--client-id']], [['token', '--env-var', 'X']], [['exec', '--format', 'json', '--', 'node']],
    [['exec', 'node', '-e', '0']], [['exec', '--']], [['exec', '--env-var']], [['token', '--Format', 'json']],
  ])('leaves %j to the full CLI', (args) => {
    expect(parseWarmArgs(args)).toBeUndefined();
  });
});
