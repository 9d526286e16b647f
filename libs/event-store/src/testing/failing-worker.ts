// A worker thread for preloaded-workers.int-spec.ts that fails while its module loads.
throw new Error('failing-worker: failed while loading');
