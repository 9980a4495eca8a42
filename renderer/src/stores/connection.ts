/**
 * The event stream's state, for the side bar, and a count of (re)connections so that pages reload
 * what they show after a gap in which events may have been missed.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ApiClient, ConnectionState } from '../api/client.ts';

export const useConnectionStore = defineStore('connection', () => {
  const state = ref<ConnectionState>('connecting');
  /** Incremented on every 'open' after the first: a reconnection. */
  const reconnections = ref(0);
  let opened = false;
  let stop: (() => void) | null = null;

  function watch(client: ApiClient): void {
    stop?.();
    stop = client.onState((next) => {
      if (next === 'open') {
        if (opened) reconnections.value += 1;
        opened = true;
      }
      state.value = next;
    });
  }

  return { state, reconnections, watch };
});
