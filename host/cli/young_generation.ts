// V8 doubles the young generation (new space) of a heap when much of it
// survives scavenges, and starting a service looks exactly like that: loading
// the modules and building the pipeline allocates a few MB that all live on,
// so an idle service would keep a new space sized for an allocation rate it
// never has. While `ganglion run` starts, the growth factor is 1 (no growth);
// once the service is ready V8's own default is back, so under load the young
// generation grows exactly as before (figures: docs/perf/2026-11-24-startup-memory.md).
//
// The flag is read by V8 each time it considers growing a new space, so
// changing it at run time takes effect at once, on every isolate of the
// process (the partition workers start inside the window too). A growth
// factor given on the command line or in NODE_OPTIONS is left alone.
import { setFlagsFromString } from 'node:v8';

const FLAG = 'semi-space-growth-factor';
/** V8's default (flag-definitions.h); `node --v8-options` lists it. */
const V8_DEFAULT = 2;

let held = false;

function setByUser(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some((a) => a.replace(/_/g, '-').startsWith(`--${FLAG}`));
}

/** Stops young-generation growth until `releaseYoungGeneration`. */
export function holdYoungGeneration(): void {
  if (held || setByUser()) return;
  setFlagsFromString(`--${FLAG}=1`);
  held = true;
}

/** Gives V8 back its own growth policy (idempotent). */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`--${FLAG}=${V8_DEFAULT}`);
  held = false;
}
