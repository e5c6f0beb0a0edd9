// A loopback TCP port nothing listens on right now (the OS picks it), for
// services started by the benchmarks and by tests (test/helpers/mosquitto.ts).
// Kept apart from bench/service.ts so that importing it loads nothing else.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
