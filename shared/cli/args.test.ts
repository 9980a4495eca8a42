/** The argument parser's option kinds: a repeatable string keeps every value in order. */
import { describe, expect, it } from 'vitest';
import { unwrap } from '../core/errors.ts';
import { formatOptions, parseArgs, type OptionSpec } from './args.ts';

const SPECS: readonly OptionSpec[] = [
  { name: 'tag', kind: 'strings', value: 'tags', description: 'tags' },
  { name: 'host', kind: 'string', description: 'host' },
];

describe('parseArgs', () => {
  it('keeps every value of a repeatable option, in order, inline or separate', () => {
    const parsed = unwrap(
      parseArgs(['add', '--tag', 'a,b', '--host', 'h', '--tag=c', '--tag', 'a'], SPECS, 'x'),
    );
    expect(parsed.options['tag']).toEqual(['a,b', 'c', 'a']);
    expect(parsed.positionals).toEqual(['add']);
  });

  it('gives a repeatable option once as a list of one, and leaves it out when absent', () => {
    expect(unwrap(parseArgs(['--tag', 'lab'], SPECS, 'x')).options['tag']).toEqual(['lab']);
    expect(unwrap(parseArgs([], SPECS, 'x')).options['tag']).toBeUndefined();
  });

  it('keeps only the last value of a plain string option', () => {
    expect(unwrap(parseArgs(['--host', 'a', '--host', 'b'], SPECS, 'x')).options['host']).toBe('b');
  });

  it('still wants a value after a repeatable option, and says it repeats in help', () => {
    const missing = parseArgs(['--tag'], SPECS, 'devices');
    expect(!missing.ok && missing.error.message).toContain('--tag needs a value (tags)');
    expect(formatOptions(SPECS)).toMatch(/--tag <tags> …/);
  });
});
