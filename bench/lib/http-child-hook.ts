// Preloaded (-r) into the API child by http-server.ts; it changes nothing on the request path.
// - The child never outlives the bench: when the bench's end of the stdin pipe closes (the bench exited,
//   even by SIGKILL), the child terminates itself the normal way (SIGTERM: Nest's shutdown hooks).
// - SIGUSR2 exits normally (process.exit), so --cpu-prof / --heap-prof write their profile; a signal
//   death would not, and Nest re-raises SIGTERM after closing.
process.on('SIGUSR2', () => process.exit(0));
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
