/**
 * The firmware's exit codes (resources/firmware/src/engine.h and README.md; a test checks all three
 * agree), as the runner explains them.
 */
export const FIRMWARE_EXIT_CODES: Readonly<Record<number, string>> = {
  0: 'all tasks ran',
  2: 'FRAM image: bad magic (nothing, or something else, loaded at the FRAM base)',
  3: 'FRAM image: unsupported version',
  4: 'FRAM image: sizes or offsets outside the image or the FRAM window',
  5: 'FRAM image: CRC-32 mismatch',
  6: 'storage image: bad magic (nothing, or something else, loaded at the storage base)',
  7: 'storage image: unsupported version',
  8: 'storage image: sizes or offsets outside the image, the window or the budget',
  9: 'storage image: CRC-32 mismatch',
  10: 'a model descriptor is invalid (magic, version, CRC, sizes or layer shapes)',
  11: 'the planned FRAM layout exceeds the FRAM budget',
  12: 'the FRAM and storage images come from different exports',
  13: 'the CPU took a fault',
  14: 'the value type is not supported by this build',
  15: 'an int8 scale table is invalid (a scale not a finite float32 > 0)',
};

export function describeExitCode(code: number): string {
  return FIRMWARE_EXIT_CODES[code] ?? (code === 1 ? 'QEMU itself failed' : 'an unknown exit code');
}
