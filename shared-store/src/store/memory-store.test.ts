// The memory store runs the shared conformance suite; a restart reuses its MemoryStoreData.
import { runStoreConformance } from './conformance.js';
import { MemoryStore, MemoryStoreData } from './memory-store.js';
import type { MessageStore } from './types.js';

runStoreConformance('MemoryStore', () => {
  const data = new MemoryStoreData();
  const started: MessageStore[] = [];
  return {
    start() {
      const store = new MemoryStore({ data });
      started.push(store);
      return store;
    },
    async crash() {
      // A crashed memory store simply stops being used; its data still says "running".
    },
    async cleanup() {
      for (const store of started) await store.close();
    },
  };
});
