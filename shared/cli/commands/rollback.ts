/** `wsep rollback <device>`: the device switches back to its previous plan (its agent health-checks it). */
import { ok } from '../../core/errors.ts';
import { rollbackDevice } from '../../fleet/rollout.ts';
import { progressSink, type Command } from '../command.ts';
import { JSON_OPTION, STORE_OPTION, json, shortId, withStore } from './fleet-cli.ts';

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'Switch a device back to its previous plan.',
  usage: 'wsep rollback <device> [--json]',
  description:
    'The agent switches the device’s current plan to the previous one and runs the health check on it; if that check fails it switches back and says why.',
  positionals: { min: 1, max: 1, names: '<device>' },
  options: [STORE_OPTION, JSON_OPTION],
  async run(args, ctx) {
    const name = args.positionals[0]!;
    return withStore(args, ctx, async (store) => {
      const done = await rollbackDevice(store, name, { signal: ctx.signal, progress: progressSink(ctx) });
      if (!done.ok) return done;
      ctx.out(
        json(args)
          ? JSON.stringify(done.value, null, 2)
          : `Device "${name}" rolled back: active ${shortId(done.value.active)}, previous ${shortId(done.value.previous)}.`,
      );
      return ok(0);
    });
  },
};
