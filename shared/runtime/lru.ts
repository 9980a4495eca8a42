/**
 * A least-recently-used cache bounded by bytes, not entries: the runtime keeps recently used models'
 * exclusive pages in level 1 when the device profile leaves room for them.
 */
export class ByteLru<K, V extends { readonly byteLength: number }> {
  private readonly entries = new Map<K, V>(); // Map iteration order is insertion order: first = least recent
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value`, evicting the least recently used entries; a value larger than the limit is not stored. */
  set(key: K, value: V): boolean {
    this.delete(key);
    if (value.byteLength > this.limitBytes) return false;
    while (this.used + value.byteLength > this.limitBytes) {
      const oldest = this.entries.keys().next().value as K;
      this.delete(oldest);
    }
    this.entries.set(key, value);
    this.used += value.byteLength;
    return true;
  }

  delete(key: K): void {
    const value = this.entries.get(key);
    if (value === undefined) return;
    this.entries.delete(key);
    this.used -= value.byteLength;
  }

  keys(): K[] {
    return [...this.entries.keys()];
  }
}
