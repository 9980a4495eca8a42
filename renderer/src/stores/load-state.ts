/**
 * What the stores share about loading: a call's answer put in place (its value, or its error with the
 * last value kept), and a list's state while it loads (loading, loaded once, the last failure).
 */
import { ref, type Ref } from 'vue';
import type { CallResult, WsepError } from '../api/client.ts';

/** Puts an answer in place: its value through `take` and no error, or its error (the value kept). */
export function settleAnswer<T>(
  answer: CallResult<T>,
  error: Ref<WsepError | null>,
  take: (value: T) => void,
): boolean {
  if (!answer.ok) {
    error.value = answer.error;
    return false;
  }
  error.value = null;
  take(answer.value);
  return true;
}

/** A list's load state: `loading` while its calls are out, `loaded` after a success, `error` the last failure. */
export function useLoadState() {
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<WsepError | null>(null);

  /** Waits for the calls with `loading` set. */
  async function during<A>(calls: () => Promise<A>): Promise<A> {
    loading.value = true;
    const answers = await calls();
    loading.value = false;
    return answers;
  }

  /** Puts the list's answer in place; a success marks it loaded. */
  function settle<T>(answer: CallResult<T>, take: (value: T) => void): void {
    if (settleAnswer(answer, error, take)) loaded.value = true;
  }

  /** Makes one call and puts its answer in place. */
  async function load<T>(call: () => Promise<CallResult<T>>, take: (value: T) => void): Promise<void> {
    settle(await during(call), take);
  }

  return { loading, loaded, error, during, settle, load };
}
