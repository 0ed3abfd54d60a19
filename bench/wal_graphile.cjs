// graphile-worker as bench/bench_wal.py measures it (`make bench-wal`), run the way it really runs:
//   node bench/wal_graphile.cjs migrate DSN   its schema, by its own migrations (runMigrations)
//   node bench/wal_graphile.cjs drain DSN     its worker (runOnce, concurrency 1, a no-op `noop`
//                                             task) until no job is left; prints {"handled": n}
// graphile-worker is not vendored: it resolves through NODE_PATH (the shared bench's node/latest).
const { runMigrations, runOnce, Logger } = require('graphile-worker');

const logger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(message);
});

async function main(mode, connectionString) {
  if (mode === 'migrate') {
    await runMigrations({ connectionString, logger });
    return {};
  }
  if (mode === 'drain') {
    let handled = 0;
    // runOnce claims one job per get_job and, with completeJobBatchDelay at its default (-1),
    // deletes each finished job in its own statement: two transactions per job.
    await runOnce(
      { connectionString, concurrency: 1, noHandleSignals: true, logger },
      { noop: async () => { handled += 1; } },
    );
    return { handled };
  }
  throw new Error('usage: wal_graphile.cjs migrate|drain DSN');
}

main(process.argv[2], process.argv[3]).then(
  (result) => console.log(JSON.stringify(result)),
  (err) => { console.error(err); process.exit(1); },
);
