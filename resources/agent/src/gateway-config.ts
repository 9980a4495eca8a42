/**
 * An MCU gateway's settings in agent.json (`mcu`, protocol.ts McuGatewayConfig): every member has a
 * default, so `{"kind": "mcu-gateway"}` alone is a gateway running QEMU with the files provisioning put
 * under `<root>/mcu/`. A member present with the wrong type is refused rather than replaced, so a typo
 * in a hand-edited command line is reported, not silently ignored.
 */
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import { AGENT_LAYOUT, type McuGatewayConfig } from '../../../shared/fleet/protocol.ts';
import { DEFAULT_GATEWAY_SAMPLES } from '../../../shared/mcu/gateway-export.ts';
import { QEMU_COMMAND_TEMPLATE } from '../../../shared/mcu/qemu.ts';

/** Where provisioning puts the gateway's files, relative to the root. */
export const GATEWAY_FILES = AGENT_LAYOUT.mcu;

/**
 * SPI NOR flash in quad mode at 50 MHz reads about 25 MB/s (4 bits per clock); the switch time in
 * telemetry is modelled at this rate unless agent.json says otherwise. An assumption, stated as such.
 */
export const DEFAULT_STORAGE_BYTES_PER_SECOND = 25_000_000;
export const DEFAULT_GATEWAY_TIMEOUT_MS = 10 * 60_000;

export const DEFAULT_GATEWAY_CONFIG: McuGatewayConfig = {
  firmware: GATEWAY_FILES.firmware,
  board: GATEWAY_FILES.board,
  profile: GATEWAY_FILES.profile,
  command: QEMU_COMMAND_TEMPLATE,
  healthSamples: DEFAULT_GATEWAY_SAMPLES,
  timeoutMs: DEFAULT_GATEWAY_TIMEOUT_MS,
  storageBytesPerSecond: DEFAULT_STORAGE_BYTES_PER_SECOND,
};

const KEYS = Object.keys(DEFAULT_GATEWAY_CONFIG) as (keyof McuGatewayConfig)[];

/** The `mcu` member of agent.json (absent: every default), or why it is not valid. */
export function parseGatewayConfig(value: unknown, file: string): Result<McuGatewayConfig> {
  if (value === undefined) return ok(DEFAULT_GATEWAY_CONFIG);
  const bad = (why: string): Result<never> =>
    fail(
      'E_DEVICE',
      `${file}: "mcu" ${why}.`,
      'Fix the file by hand, or provision the gateway again (wsep devices provision), which rewrites it.',
    );
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('is not an object');
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((k) => !(KEYS as string[]).includes(k));
  if (unknown !== undefined) return bad(`has an unknown member "${unknown}" (known: ${KEYS.join(', ')})`);
  const out: Record<string, unknown> = { ...DEFAULT_GATEWAY_CONFIG };
  for (const key of KEYS) {
    if (v[key] === undefined) continue;
    const want = typeof DEFAULT_GATEWAY_CONFIG[key];
    if (typeof v[key] !== want) return bad(`member "${key}" is not a ${want}`);
    if (want === 'string' && (v[key] as string).trim() === '') return bad(`member "${key}" is empty`);
    if (want === 'number' && !(Number.isSafeInteger(v[key]) && (v[key] as number) >= 0))
      return bad(`member "${key}" is not a whole number ≥ 0`);
    out[key] = v[key];
  }
  if ((out.timeoutMs as number) < 1000) return bad('member "timeoutMs" is under 1000');
  if ((out.storageBytesPerSecond as number) < 1) return bad('member "storageBytesPerSecond" is 0');
  return ok(out as unknown as McuGatewayConfig);
}
