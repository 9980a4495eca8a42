import { describe, expect, it } from 'vitest';
import { unwrap } from '../core/errors.ts';
import {
  expandCommand,
  MCU_COMMAND_VARIABLES,
  QEMU_COMMAND_TEMPLATE,
  type McuCommandVariable,
} from './qemu.ts';

const values = Object.fromEntries(Object.keys(MCU_COMMAND_VARIABLES).map((k) => [k, `<${k}>`])) as Record<
  McuCommandVariable,
  string
>;

describe('the MCU command line template', () => {
  it('fills every variable of the default QEMU line, word by word', () => {
    const words = unwrap(expandCommand(QEMU_COMMAND_TEMPLATE, values));
    expect(words[0]).toBe('qemu-system-arm');
    expect(words).toContain('<elf>');
    expect(words).toContain('loader,file=<fram>,addr=<framAddr>');
    expect(words.join(' ')).not.toMatch(/[{}]/);
  });

  it('keeps a value with spaces or shell characters as one word, never interpreted', () => {
    const words = unwrap(expandCommand('probe-rs run {elf}', { ...values, elf: '/a b/$(x);.elf' }));
    expect(words).toEqual(['probe-rs', 'run', '/a b/$(x);.elf']);
  });

  it('refuses an unknown variable and an empty line', () => {
    const bad = expandCommand('qemu-system-arm -kernel {firmware}', values);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('{firmware}');
    expect(expandCommand('   ', values).ok).toBe(false);
  });
});
