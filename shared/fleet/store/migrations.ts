/**
 * The store's schema as numbered migrations. A migration, once released, never changes: a new column
 * or index is a new migration at the end. database.ts runs the missing ones, each in its own
 * transaction, and records each in schema_version.
 *
 * Devices are referred to by name in rollout_steps (history outlives a removed device) and by id
 * elsewhere (tags, telemetry and cursors go with the device). Times are ISO-8601 UTC text.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, plans, rollouts, telemetry, audit',
    sql: `
      CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('linux', 'mcu-gateway')),
        host TEXT NOT NULL,
        port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        user TEXT NOT NULL,
        key_path TEXT NOT NULL,
        root TEXT NOT NULL,
        node_path TEXT NOT NULL DEFAULT 'node',
        host_key_fingerprint TEXT,
        probed_host_key_fingerprint TEXT,
        capacities TEXT,
        status TEXT NOT NULL DEFAULT 'new'
          CHECK (status IN ('new', 'provisioned', 'online', 'offline', 'error')),
        status_reason TEXT,
        last_seen TEXT,
        active_plan TEXT,
        previous_plan TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE device_tags (
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (device_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX device_tags_by_tag ON device_tags (tag);

      CREATE TABLE plans (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        bundle_path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        summary TEXT NOT NULL,
        health TEXT NOT NULL
      );

      CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
        targets TEXT NOT NULL,
        waves TEXT NOT NULL,
        max_drop_points REAL NOT NULL,
        concurrency INTEGER NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('running', 'succeeded', 'failed', 'stopped', 'cancelled', 'interrupted')),
        reason TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE INDEX rollouts_by_state ON rollouts (state);
      CREATE INDEX rollouts_by_plan ON rollouts (plan_id);

      CREATE TABLE rollout_steps (
        rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
        device TEXT NOT NULL,
        wave INTEGER NOT NULL CHECK (wave >= 0),
        state TEXT NOT NULL CHECK (state IN ('pending', 'staging', 'verifying', 'activating', 'succeeded',
          'failed', 'rolled-back', 'skipped', 'cancelled')),
        mode TEXT CHECK (mode IN ('full', 'delta')),
        bytes_sent INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        measured TEXT,
        error TEXT,
        started_at TEXT,
        ended_at TEXT,
        PRIMARY KEY (rollout_id, device)
      );
      CREATE INDEX rollout_steps_by_device ON rollout_steps (device);
      CREATE INDEX rollout_steps_by_state ON rollout_steps (state);

      CREATE TABLE telemetry (
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        time TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('task', 'device')),
        plan_id TEXT,
        model TEXT,
        fields TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      );
      CREATE INDEX telemetry_by_time ON telemetry (device_id, time);
      CREATE INDEX telemetry_by_model ON telemetry (device_id, model, seq);

      CREATE TABLE telemetry_cursors (
        device_id INTEGER PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
        cursor INTEGER NOT NULL CHECK (cursor >= 0),
        lost INTEGER NOT NULL CHECK (lost >= 0)
      );

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'cancelled', 'stopped', 'refused'))
      );
      CREATE INDEX audit_by_target ON audit (target, id);
      CREATE INDEX audit_by_action ON audit (action, id);
    `,
  },
  {
    version: 2,
    name: 'rollout owners (host and pid), so that one process never ends another\'s running rollout',
    sql: `
      ALTER TABLE rollouts ADD COLUMN owner_host TEXT;
      ALTER TABLE rollouts ADD COLUMN owner_pid INTEGER;
    `,
  },
];

/** The newest schema this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
