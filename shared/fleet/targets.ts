/**
 * Which devices a rollout goes to: the user's `--to` text (device names and tags, comma-separated)
 * resolved against the registered devices. A term is a device name when one has that name, else a
 * tag; an unknown term is a usage error that lists what is known, so a typo never rolls out to fewer
 * devices than meant.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { Device } from './store/types.ts';

const MAX_LISTED = 20;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).map((s) => JSON.stringify(s));
  return `${shown.join(', ')}${items.length > MAX_LISTED ? `, and ${items.length - MAX_LISTED} more` : ''}`;
}

/**
 * The devices named by `to`, in the order of its terms (a tag's devices by name), each once. The
 * whole text is tried as one name first, since a device name may itself contain a comma.
 */
export function resolveTargets(devices: readonly Device[], to: string): Result<Device[]> {
  const byName = new Map(devices.map((d) => [d.name, d]));
  const whole = byName.get(to);
  if (whole) return ok([whole]);
  const terms = to
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (terms.length === 0) {
    return fail(
      'E_USAGE',
      'wsep rollout needs --to <device|tag>,….',
      'Name the devices or tags to roll out to.',
    );
  }
  const chosen = new Map<string, Device>();
  const unknown: string[] = [];
  for (const term of terms) {
    const device = byName.get(term);
    if (device) {
      chosen.set(device.name, device);
      continue;
    }
    const tagged = devices.filter((d) => d.tags.includes(term));
    if (tagged.length === 0) unknown.push(term);
    for (const d of [...tagged].sort((a, b) => (a.name < b.name ? -1 : 1))) chosen.set(d.name, d);
  }
  if (unknown.length > 0) {
    const names = devices.map((d) => d.name);
    const tags = [...new Set(devices.flatMap((d) => d.tags))].sort();
    return fail(
      'E_USAGE',
      `--to: no device or tag is named ${listed(unknown)}.`,
      devices.length === 0
        ? 'No devices are registered yet: add one with wsep devices add.'
        : `Known devices: ${listed(names)}${tags.length > 0 ? `; tags: ${listed(tags)}` : ''}.`,
      { unknown, devices: names, tags },
    );
  }
  return ok([...chosen.values()]);
}
