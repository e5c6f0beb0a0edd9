// Receive timestamps for frames: nanoseconds since the epoch on the host clock.
// Date.now() has millisecond resolution and hrtime has no epoch, so hrtime is
// anchored to the wall clock once per process; differences between two
// receive times are then exact to the nanosecond and never go backwards.
//
// The anchor is taken at the instant Date.now() ticks over to a new
// millisecond (a spin of at most 1 ms, once), so two processes on the same
// host agree to within microseconds instead of up to a whole millisecond:
// that is what lets a producer's send time and a receiver's receive time be
// subtracted (bench/loadgen.ts).

let anchorNs: bigint | undefined;

function anchor(): bigint {
  const start = Date.now();
  let now = start;
  while (now === start) now = Date.now();
  return BigInt(now) * 1_000_000n - process.hrtime.bigint();
}

export function receiveNowNs(): bigint {
  anchorNs ??= anchor();
  return anchorNs + process.hrtime.bigint();
}
