/**
 * The device registry: one row per device, its tags in device_tags. Names are the user's handle for a
 * device and may hold any printable characters; they only ever travel as bound SQL parameters.
 */
import Database from 'better-sqlite3';
import { raise, type Result } from '../../core/errors.ts';
import { capacitiesProblem, readCapacities } from './columns.ts';
import type { StoreDb } from './database.ts';
import {
  checkFingerprint,
  checkName,
  checkOneOf,
  checkPlanId,
  checkPort,
  checkTags,
  checkText,
  checkTime,
} from './validate.ts';
import {
  DEVICE_KINDS,
  DEVICE_STATUSES,
  type Device,
  type DeviceFilter,
  type DeviceKind,
  type DevicePatch,
  type DeviceStatus,
  type NewDevice,
} from './types.ts';

interface DeviceRow {
  id: number;
  name: string;
  kind: DeviceKind;
  host: string;
  port: number;
  user: string;
  key_path: string;
  root: string;
  node_path: string;
  host_key_fingerprint: string | null;
  probed_host_key_fingerprint: string | null;
  capacities: string | null;
  status: DeviceStatus;
  status_reason: string | null;
  last_seen: string | null;
  active_plan: string | null;
  previous_plan: string | null;
  created_at: string;
}

export const quoted = (name: string): string => JSON.stringify(name);

export function deviceNotFound(name: string): never {
  raise(
    'E_NOT_FOUND',
    `No device named ${quoted(name)} is registered.`,
    'See the registered devices with wsep devices list.',
    {
      device: name,
    },
  );
}

/** The row id of a device, or a not-found failure. */
export function deviceId(db: StoreDb, name: string): number {
  const row = db.stmt('SELECT id FROM devices WHERE name = ?').get(name) as { id: number } | undefined;
  if (row === undefined) deviceNotFound(name);
  return row.id;
}

function toDevice(row: DeviceRow, tags: readonly string[]): Device {
  return {
    name: row.name,
    kind: row.kind,
    host: row.host,
    port: row.port,
    user: row.user,
    keyPath: row.key_path,
    root: row.root,
    nodePath: row.node_path,
    hostKeyFingerprint: row.host_key_fingerprint,
    probedHostKeyFingerprint: row.probed_host_key_fingerprint,
    capacities: readCapacities(
      { table: 'devices', row: quoted(row.name), column: 'capacities' },
      row.capacities,
    ),
    tags: [...tags].sort(),
    status: row.status,
    statusReason: row.status_reason,
    lastSeen: row.last_seen,
    activePlan: row.active_plan,
    previousPlan: row.previous_plan,
    createdAt: row.created_at,
  };
}

function readDevice(db: StoreDb, name: string): Device {
  const row = db.stmt('SELECT * FROM devices WHERE name = ?').get(name) as DeviceRow | undefined;
  if (row === undefined) deviceNotFound(name);
  const tags = db.stmt('SELECT tag FROM device_tags WHERE device_id = ?').pluck().all(row.id) as string[];
  return toDevice(row, tags);
}

function writeTags(db: StoreDb, id: number, tags: readonly string[]): void {
  db.stmt('DELETE FROM device_tags WHERE device_id = ?').run(id);
  const insert = db.stmt('INSERT INTO device_tags (device_id, tag) VALUES (?, ?)');
  for (const tag of tags) insert.run(id, tag);
}

function isUniqueViolation(thrown: unknown): boolean {
  return (
    thrown instanceof Database.SqliteError &&
    (thrown.code === 'SQLITE_CONSTRAINT_UNIQUE' || thrown.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
  );
}

export function addDevice(db: StoreDb, device: NewDevice): Result<Device> {
  return db.call(`add device ${quoted(String(device.name))}`, () => {
    const name = checkName('device name', device.name);
    const values = {
      name,
      kind: checkOneOf('device kind', device.kind, DEVICE_KINDS),
      host: checkText('host', device.host, 255),
      port: checkPort(device.port),
      user: checkText('user', device.user, 255),
      key_path: checkText('key path', device.keyPath),
      root: checkText('agent root', device.root),
      node_path: checkText('Node path', device.nodePath ?? 'node'),
      probed:
        device.probedHostKeyFingerprint == null ? null : checkFingerprint(device.probedHostKeyFingerprint),
      created_at: checkTime('creation time', device.createdAt ?? new Date().toISOString()),
    };
    const tags = checkTags(device.tags ?? []);
    try {
      db.write(() => {
        const { lastInsertRowid } = db
          .stmt(
            `INSERT INTO devices (name, kind, host, port, user, key_path, root, node_path,
               probed_host_key_fingerprint, created_at)
             VALUES (@name, @kind, @host, @port, @user, @key_path, @root, @node_path, @probed, @created_at)`,
          )
          .run(values);
        writeTags(db, Number(lastInsertRowid), tags);
      });
    } catch (thrown) {
      if (isUniqueViolation(thrown)) {
        raise(
          'E_USAGE',
          `A device named ${quoted(name)} is already registered.`,
          'Choose another name, or remove the old one first with wsep devices remove.',
          { device: name },
        );
      }
      throw thrown;
    }
    return readDevice(db, name);
  });
}

export function getDevice(db: StoreDb, name: string): Result<Device> {
  return db.call(`read device ${quoted(String(name))}`, () => readDevice(db, name));
}

export function listDevices(db: StoreDb, filter: DeviceFilter): Result<Device[]> {
  return db.call('list the devices', () => {
    const tag = filter.tag === undefined ? undefined : checkName('tag', filter.tag);
    const rows = (
      tag === undefined
        ? db.stmt('SELECT * FROM devices ORDER BY name').all()
        : db
            .stmt(
              'SELECT d.* FROM devices d JOIN device_tags t ON t.device_id = d.id WHERE t.tag = ? ORDER BY d.name',
            )
            .all(tag)
    ) as DeviceRow[];
    const tagsById = new Map<number, string[]>();
    for (const { device_id, tag: t } of db.stmt('SELECT device_id, tag FROM device_tags').all() as {
      device_id: number;
      tag: string;
    }[]) {
      const list = tagsById.get(device_id);
      if (list === undefined) tagsById.set(device_id, [t]);
      else list.push(t);
    }
    return rows.map((row) => toDevice(row, tagsById.get(row.id) ?? []));
  });
}

export function updateDevice(db: StoreDb, name: string, patch: DevicePatch): Result<Device> {
  return db.call(`update device ${quoted(String(name))}`, () => {
    const set: Record<string, unknown> = {};
    if (patch.kind !== undefined) set['kind'] = checkOneOf('device kind', patch.kind, DEVICE_KINDS);
    if (patch.host !== undefined) set['host'] = checkText('host', patch.host, 255);
    if (patch.port !== undefined) set['port'] = checkPort(patch.port);
    if (patch.user !== undefined) set['user'] = checkText('user', patch.user, 255);
    if (patch.keyPath !== undefined) set['key_path'] = checkText('key path', patch.keyPath);
    if (patch.root !== undefined) set['root'] = checkText('agent root', patch.root);
    if (patch.nodePath !== undefined) set['node_path'] = checkText('Node path', patch.nodePath);
    if (patch.probedHostKeyFingerprint !== undefined) {
      set['probed_host_key_fingerprint'] =
        patch.probedHostKeyFingerprint === null ? null : checkFingerprint(patch.probedHostKeyFingerprint);
    }
    if (patch.capacities !== undefined) {
      if (patch.capacities !== null) {
        const problem = capacitiesProblem(patch.capacities);
        if (problem !== null)
          raise('E_USAGE', `The capacities of ${quoted(name)} are not valid: ${problem}.`);
      }
      set['capacities'] = patch.capacities === null ? null : JSON.stringify(patch.capacities);
    }
    if (patch.status !== undefined)
      set['status'] = checkOneOf('device status', patch.status, DEVICE_STATUSES);
    if (patch.statusReason !== undefined) {
      set['status_reason'] =
        patch.statusReason === null ? null : checkText('status reason', patch.statusReason);
    }
    const tags = patch.tags === undefined ? undefined : checkTags(patch.tags);
    db.write(() => {
      const id = deviceId(db, name);
      const columns = Object.keys(set);
      if (columns.length > 0) {
        // Column names come from the fixed list above, never from the caller.
        db.stmt(`UPDATE devices SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run({
          ...set,
          id,
        });
      }
      if (tags !== undefined) writeTags(db, id, tags);
    });
    return readDevice(db, name);
  });
}

export function acceptHostKey(db: StoreDb, name: string, fingerprint: string): Result<Device> {
  return db.call(`accept the host key of ${quoted(String(name))}`, () => {
    const fp = checkFingerprint(fingerprint);
    db.write(() => {
      deviceId(db, name);
      db.stmt(
        'UPDATE devices SET host_key_fingerprint = ?, probed_host_key_fingerprint = NULL WHERE name = ?',
      ).run(fp, name);
    });
    return readDevice(db, name);
  });
}

export function removeDevice(db: StoreDb, name: string): Result<void> {
  return db.call(`remove device ${quoted(String(name))}`, () => {
    const { changes } = db.write(() => db.stmt('DELETE FROM devices WHERE name = ?').run(name));
    if (changes === 0) deviceNotFound(name);
  });
}

/**
 * A device that answered is 'online'; 'new' (never provisioned) and 'error' (needs the user) stay as
 * they are, since an answer alone does not fix either.
 */
export function markSeen(db: StoreDb, name: string, time: string): Result<Device> {
  return db.call(`mark ${quoted(String(name))} as seen`, () => {
    const at = checkTime('time seen', time);
    db.write(() => {
      deviceId(db, name);
      db.stmt(
        `UPDATE devices SET last_seen = ?,
           status_reason = CASE WHEN status IN ('new', 'error') THEN status_reason ELSE NULL END,
           status = CASE WHEN status IN ('new', 'error') THEN status ELSE 'online' END
         WHERE name = ?`,
      ).run(at, name);
    });
    return readDevice(db, name);
  });
}

/** A device that did not answer is 'offline' with the reason; a 'new' one stays 'new' (with the reason). */
export function markOffline(db: StoreDb, name: string, reason: string): Result<Device> {
  return db.call(`mark ${quoted(String(name))} as offline`, () => {
    const why = checkText('offline reason', reason);
    db.write(() => {
      deviceId(db, name);
      db.stmt(
        `UPDATE devices SET status_reason = ?,
           status = CASE WHEN status = 'new' THEN 'new' ELSE 'offline' END
         WHERE name = ?`,
      ).run(why, name);
    });
    return readDevice(db, name);
  });
}

export function setDevicePlans(
  db: StoreDb,
  name: string,
  activePlan: string | null,
  previousPlan: string | null,
): Result<Device> {
  return db.call(`record the plans of ${quoted(String(name))}`, () => {
    const active = activePlan === null ? null : checkPlanId(activePlan, 'active plan id');
    const previous = previousPlan === null ? null : checkPlanId(previousPlan, 'previous plan id');
    if (active !== null && active === previous) {
      raise(
        'E_USAGE',
        `The active and previous plan of ${quoted(name)} cannot both be ${active.slice(0, 12)}….`,
        'Record the plans as the device agent reports them (wsep-agent status).',
      );
    }
    db.write(() => {
      deviceId(db, name);
      db.stmt('UPDATE devices SET active_plan = ?, previous_plan = ? WHERE name = ?').run(
        active,
        previous,
        name,
      );
    });
    return readDevice(db, name);
  });
}
