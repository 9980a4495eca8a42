/**
 * A device profile: the two memories a plan must fit and what the device's runtime itself keeps in
 * level 1 besides the shared pages and the page tables. The planner plans against a profile, the
 * report and `bundle inspect` state both packing ratios from it, and the fleet stores one per device.
 * Memory arithmetic on profiles lives in ./memory.ts; this file only says what a profile is.
 */

/**
 * What the runtime keeps resident in level 1, beyond the shared pages and the page tables:
 * - `none`: nothing (the stored plan alone, as the reference counts it);
 * - `onnxruntime`: the Linux paged runtime (shared/runtime): the gathered weights of the largest
 *   model, the read buffer for the largest set of exclusive pages, and the precomputed gather runs;
 * - `mcu`: the Cortex-M firmware: an activation arena of a fixed size and the exclusive-page buffer.
 */
export type RuntimeResidency =
  | { readonly kind: 'none' }
  | { readonly kind: 'onnxruntime' }
  | { readonly kind: 'mcu'; readonly activationArenaBytes: number };

export interface DeviceProfile {
  /** A short name for messages and stores, e.g. 'stored', 'jetson-nano', 'mps2-an385'. */
  readonly name: string;
  /** Level-1 capacity (RAM, FRAM, GPU RAM) the plan may use, bytes. */
  readonly l1Bytes: number;
  /** Level-2 capacity (flash, eMMC, SSD) the plan may use, bytes. */
  readonly l2Bytes: number;
  /** Bytes per page-table entry: 4 (uint32, the bundle's width) or 2 (uint16, up to 65,535 pages). */
  readonly tableEntryBytes: 2 | 4;
  readonly runtime: RuntimeResidency;
}
