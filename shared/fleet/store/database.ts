/**
 * Opening the store's SQLite file: refuse what is not ours before touching it, set the pragmas, bring
 * the schema up to date, and turn SQLite's exceptions into E_STORE results that name the file.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { attempt, makeError, raise, WsepFailure, type Result, type WsepError } from '../../core/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';

/** Every SQLite 3 database file starts with these 16 bytes. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** How long a write waits for another connection's write lock before it reports the store busy. */
export const BUSY_TIMEOUT_MS = 5000;

type Statement = Database.Statement<unknown[], unknown>;

/** One open connection, as the table modules use it. */
export interface StoreDb {
  readonly path: string;
  /** The folder of the database file (the current folder for ':memory:'). */
  readonly dir: string;
  readonly schemaVersion: number;
  /** A prepared statement, cached per connection. */
  stmt(sql: string): Statement;
  /** Runs `fn` in one transaction (IMMEDIATE: it takes the write lock at once, so it cannot deadlock). */
  write<T>(fn: () => T): T;
  /** Runs `fn` and converts anything it throws into a result; `what` completes "could not …". */
  call<T>(what: string, fn: () => T): Result<T>;
  close(): void;
}

export function openDatabase(path: string, busyTimeoutMs = BUSY_TIMEOUT_MS): Result<StoreDb> {
  const inMemory = path === ':memory:';
  const file = inMemory ? path : resolve(path);
  return attempt(() => {
    if (!inMemory) refuseForeignFile(file);
    const db = openConnection(file, busyTimeoutMs);
    try {
      const version = migrate(db, file, busyTimeoutMs);
      return makeStoreDb(db, file, inMemory ? process.cwd() : dirname(file), version, busyTimeoutMs);
    } catch (thrown) {
      db.close();
      throw thrown;
    }
  }, 'E_STORE');
}

/** A file that exists but does not start like SQLite is left exactly as it is. */
function refuseForeignFile(file: string): void {
  const stat = statOrNull(file);
  if (stat === null) {
    const made = attempt(() => mkdirSync(dirname(file), { recursive: true }));
    if (!made.ok) {
      raise(
        'E_STORE',
        `The folder for the fleet store ${file} cannot be created: ${made.error.message}`,
        'Choose a writable place with --store or WSEP_STORE.',
      );
    }
    return;
  }
  if (!stat.isFile()) {
    raise(
      'E_STORE',
      `The fleet store path ${file} is not a file.`,
      'Point --store (or WSEP_STORE) at a file.',
    );
  }
  if (stat.size === 0) return; // SQLite treats an empty file as a new database.
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_HEADER)) raise('E_STORE', ...notADatabase(file));
}

function notADatabase(file: string): [string, string] {
  return [
    `The fleet store ${file} is not a SQLite database (it is corrupt, or another kind of file).`,
    'WeightSep left it untouched: move it aside to start a new store, or point --store (or WSEP_STORE) at another file.',
  ];
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

function openConnection(file: string, busyTimeoutMs: number): Database.Database {
  try {
    return new Database(file, { timeout: busyTimeoutMs });
  } catch (thrown) {
    throw new WsepFailure(sqliteError(file, 'open the database', thrown, busyTimeoutMs));
  }
}

/** Reads the version, refuses a newer schema, sets the pragmas and runs the missing migrations. */
function migrate(db: Database.Database, file: string, busyTimeoutMs: number): number {
  const current = guard(file, 'read the schema version', () => readVersion(db));
  if (current > SCHEMA_VERSION) {
    raise(
      'E_STORE',
      `The fleet store ${file} has schema version ${current}, newer than this WeightSep understands (${SCHEMA_VERSION}).`,
      'Update WeightSep to the version that wrote it, or point --store (or WSEP_STORE) at another file.',
      { schemaVersion: current, supported: SCHEMA_VERSION },
    );
  }
  guard(file, 'set up the connection', () => {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  });
  let version = current;
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue;
    guard(file, `apply schema migration ${migration.version} (${migration.name})`, () => {
      db.transaction(() => {
        // Another connection may have migrated while this one waited for the write lock.
        if (readVersion(db) >= migration.version) return;
        db.exec(
          'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
        );
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
          migration.version,
          migration.name,
          new Date().toISOString(),
        );
      }).immediate();
    });
    version = migration.version;
  }
  return guard(file, 'read the schema version', () => readVersion(db));
}

function readVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as
    { version: number | null } | undefined;
  return row?.version ?? 0;
}

function guard<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (thrown) {
    throw new WsepFailure(sqliteError(file, what, thrown));
  }
}

function makeStoreDb(
  db: Database.Database,
  file: string,
  dir: string,
  schemaVersion: number,
  busyTimeoutMs: number,
): StoreDb {
  const statements = new Map<string, Statement>();
  return {
    path: file,
    dir,
    schemaVersion,
    stmt(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    write(fn) {
      return db.transaction(fn).immediate();
    },
    call(what, fn) {
      try {
        return { ok: true, value: fn() };
      } catch (thrown) {
        return { ok: false, error: sqliteError(file, what, thrown, busyTimeoutMs) };
      }
    },
    close() {
      if (!db.open) return;
      // SQLite's advice for long-lived connections: refresh the planner's statistics where they are stale.
      try {
        db.pragma('optimize');
      } catch {
        // A busy or read-only store keeps its old statistics; closing must not fail over that.
      }
      db.close();
    },
  };
}

/** SQLite's failures in words a user can act on; a WsepFailure thrown by our own checks passes through. */
export function sqliteError(
  file: string,
  what: string,
  thrown: unknown,
  busyTimeoutMs = BUSY_TIMEOUT_MS,
): WsepError {
  if (thrown instanceof WsepFailure) return thrown.error;
  const code = thrown instanceof Database.SqliteError ? thrown.code : '';
  const detail = thrown instanceof Error ? thrown.message : String(thrown);
  const details = { sqliteCode: code || null, sqliteMessage: detail };
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code.startsWith('SQLITE_LOCKED')) {
    return makeError(
      'E_STORE',
      `The fleet store ${file} is busy: another wsep process held its write lock for more than ${busyTimeoutMs} ms, so it could not ${what}.`,
      'Try again when the other command has finished.',
      details,
    );
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    const [message, hint] = notADatabase(file);
    return makeError('E_STORE', message, hint, details);
  }
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE') {
    return makeError(
      'E_STORE',
      `The disk holding the fleet store ${file} is full, so it could not ${what}.`,
      'Free some space there and run the command again.',
      details,
    );
  }
  if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_PERM')
  ) {
    return makeError(
      'E_STORE',
      `The fleet store ${file} cannot be written, so it could not ${what} (${detail}).`,
      'Check the permissions of the file and its folder, or point --store (or WSEP_STORE) elsewhere.',
      details,
    );
  }
  return makeError(
    'E_STORE',
    `The fleet store ${file} could not ${what}: ${detail}.`,
    'If this repeats, report it with the store file attached.',
    details,
  );
}
