/** Constant has no inputs, so nothing to differentiate; its rule exists so the table is complete. */
import type { GradRule } from './types.ts';

export const Constant: GradRule = {
  inputs: [],
  backward() {
    return [];
  },
};
