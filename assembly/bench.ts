// The bench build (build/ganglion-bench.wasm): the production module
// (assembly/index.ts) plus what only benches and tests call, so none of it
// ships in build/ganglion.wasm. Loaded through bench/wasm.ts.
//
//   bench/ring.ts     the SPSC ring driven from WASM, and ring_sum_drain (the
//                     ring bench's and the ring stress tests' consumer)
//   bench/keysum.ts   keysum, the partition tests' operator (test/helpers/keysum.ts)
//   bench/co_count.ts co_count, the two-input test operator (test/host/partition/fixtures/two_input_probe.ts)
//   st_* / sp_*       the state tables' thin exports, for the parity tests
//                     against their JS twins (host/operators/state_table.ts)

export * from './index';
export * from './bench/ring';
export * from './bench/keysum';
export * from './bench/co_count';
export {
  st_bytes, st_init, st_upsert, st_last_inserted, st_get, st_remove, st_evict_expired, st_count, st_evictions, st_refused,
  st_next, st_slot_key, st_slot_value,
  sp_bytes, sp_init, sp_upsert, sp_last_inserted, sp_get, sp_remove, sp_count, sp_refused, sp_next, sp_slot_key,
  sp_slot_value, sp_slot_cold, sp_mark_removed, sp_repair,
} from './shared/state_table';
