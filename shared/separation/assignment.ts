/**
 * Optimal linear assignment (the Hungarian method with potentials, in the Jonker–Volgenant style
 * shortest-augmenting-path form): given an r × c cost matrix with r ≤ c, pick one distinct column for
 * every row so that the summed cost is minimal. O(r² c) time, O(r + c) memory besides the matrix.
 *
 * Deterministic: rows are inserted in order, and every scan keeps the first column reaching the
 * strict minimum, so equal inputs give equal outputs and ties go to the lowest column index.
 */
import { fail, ok, type Result } from '../core/errors.ts';

export interface Assignment {
  /** For each row, its column. */
  readonly rowToColumn: Int32Array;
  /** For each column, its row, or −1 when the column is unused. */
  readonly columnToRow: Int32Array;
  /** Σ cost[row, rowToColumn[row]]. */
  readonly cost: number;
}

/**
 * Solves min Σ_i cost[i·cols + σ(i)] over injective σ: rows → columns.
 * `costs` is row-major, `rows × cols`; every entry must be finite (use a large finite penalty to
 * forbid a pair, well inside ±1e300: entries near the float range overflow the reduced costs, which
 * is reported as a failure).
 */
export function solveAssignment(costs: Float64Array, rows: number, cols: number): Result<Assignment> {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    return fail('E_INTERNAL', `Assignment sizes ${rows} × ${cols} are not whole numbers.`);
  }
  if (rows > cols) {
    return fail('E_INTERNAL', `Assignment needs rows ≤ columns, got ${rows} rows and ${cols} columns.`);
  }
  if (costs.length !== rows * cols) {
    return fail('E_INTERNAL', `Assignment matrix has ${costs.length} entries, expected ${rows} × ${cols}.`);
  }
  for (let i = 0; i < costs.length; i++) {
    if (!Number.isFinite(costs[i])) {
      return fail(
        'E_INTERNAL',
        `Assignment cost at row ${Math.floor(i / cols)}, column ${i % cols} is ${costs[i]}; costs must be finite.`,
      );
    }
  }

  // 1-based potentials; column 0 is the virtual start of each augmenting path.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const match = new Int32Array(cols + 1); // match[j] = row (1-based) assigned to column j, 0 = free
  const way = new Int32Array(cols + 1);
  const minv = new Float64Array(cols + 1);
  const used = new Uint8Array(cols + 1);

  for (let i = 1; i <= rows; i++) {
    match[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = match[j0]!;
      const rowBase = (i0 - 1) * cols;
      let delta = Infinity;
      let j1 = -1;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const reduced = costs[rowBase + j - 1]! - u[i0]! - v[j]!;
        if (reduced < minv[j]!) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      // Finite costs always leave a free column below Infinity; only an overflow of the reduced costs
      // (entries near ±Number.MAX_VALUE) can leave none, and the path would then run off the matrix.
      if (j1 < 0) {
        return fail(
          'E_INTERNAL',
          `Assignment found no column for row ${i - 1}: the reduced costs overflowed; keep costs well inside ±1e300.`,
        );
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[match[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (match[j0] !== 0);
    do {
      const j1 = way[j0]!;
      match[j0] = match[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const rowToColumn = new Int32Array(rows);
  const columnToRow = new Int32Array(cols).fill(-1);
  let cost = 0;
  for (let j = 1; j <= cols; j++) {
    const i = match[j]!;
    if (i === 0) continue;
    rowToColumn[i - 1] = j - 1;
    columnToRow[j - 1] = i - 1;
  }
  for (let i = 0; i < rows; i++) cost += costs[i * cols + rowToColumn[i]!]!;
  return ok({ rowToColumn, columnToRow, cost });
}
