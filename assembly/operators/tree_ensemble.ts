// Tree-ensemble scoring of flattened XGBoost models. The model layout is owned
// (and drawn) by host/model/xgboost.ts; this file only reads it. Everything
// lives in host-allocated memory: nothing here allocates.
//
// Engine region: drawn in host/operators/tree_ensemble.ts, which lays it out.
//
// Speed: a row's descent
// is a chain of dependent loads (node → feature → next node), so rows descend
// the same tree side by side — eight independent chains in the complete-tree
// kernel, four in the node-array one — and rows go in blocks of 64 so a
// block's features stay in L1 while every tree passes over it. Both kernels
// run exactly `depth` branch-free steps per tree. The complete-tree kernel
// (trees up to depth 10) is faster than the node arrays: no child
// pointers to load and one float compare per step (see the layout in
// host/model/xgboost.ts). Its first four levels run in SIMD for 16 rows at
// once (treeTops): there all rows of the block meet the same fifteen nodes,
// so no gather is needed. Below the tops the descent is scalar: WASM SIMD
// has no gather, and lane extracts and lane loads cost more than they save.
// Variants measured and dropped: docs/perf/2026-11-24-tree-kernel.md.
import { IN_FIELDS, IN_FLAGS, IN_KEY, IN_SEQ, IN_TS, FLAG_CONTROL, OUT_BYTES, OUT_SCORE, OUT_VALUES, writeOutHeader } from '../shared/records';

const M_NFEAT: usize = 4;
const M_NGROUP: usize = 8;
const M_NTREES: usize = 12;
const M_TREES: usize = 16;
const M_NODES: usize = 20;
const M_BASE: usize = 24;
const M_LINK: usize = 32;
const M_NOUT: usize = 36;
const M_COMPLETE: usize = 40;

const LINK_IDENTITY: u32 = 0;
const LINK_SIGMOID: u32 = 1;
const LINK_SOFTMAX: u32 = 2;
const LINK_ARGMAX: u32 = 3;
const LINK_EXP: u32 = 4;
const LINK_HINGE: u32 = 5;

const BLOCK: u32 = 64;

// @ts-ignore: decorator
@inline
function step(nodes: usize, n: u32, row: usize): u32 {
  const p = nodes + (<usize>n << 4);
  const fw = load<u32>(p);
  const thr = load<f32>(p, 4);
  const x = load<f32>(row + (<usize>(fw & 0x7fffffff) << 2));
  // x < thr is false for NaN, so missing goes right unless the node's
  // default-left bit (bit 31) sends it left.
  const left = <u32>(x < thr) | (<u32>(x != x) & (fw >>> 31));
  return select<u32>(load<u32>(p, 8), load<u32>(p, 12), left != 0);
}

// @ts-ignore: decorator
@inline
function addLeaf(nodes: usize, n: u32, margin: usize, w: f32): void {
  store<f32>(margin, load<f32>(margin) + load<f32>(nodes + (<usize>n << 4), 4) * w);
}

// Nodes are numbered from 1 here (h = i + 1), so the children of h are 2h
// and 2h + 1 and a step is h = 2h + (v > T); `t8` is the tree base minus 8.
// `lane` is the row's column base: the block's column j sits at 256·j from it,
// and a node holds 256·j, so the load needs no per-row pointer.
// @ts-ignore: decorator
@inline
function cstep(t8: usize, h: u32, lane: usize): u32 {
  const p = t8 + (<usize>h << 3);
  // One compare: NaN is false and takes 2h, the default side (see the layout).
  return (h << 1) + <u32>(load<f32>(lane + <usize>load<u32>(p)) > load<f32>(p, 4));
}

// After D steps h is in [2^D, 2^(D+1)); its leaf sits at t + 8·(2^D - 1) + 4·(h - 2^D)
// = `leaves` + 4h with leaves = t + 4·2^D - 8.
// @ts-ignore: decorator
@inline
function cleaf(leaves: usize, h: u32): f32 {
  return load<f32>(leaves + (<usize>h << 2));
}

/** Trees per pass over a block: a pass's trees (about 12 KB at depth 6) stay in L1. */
const TREE_CHUNK: u32 = 16;

/** Levels every tree's top takes in SIMD, 16 rows at a time (trees this deep or deeper). */
const PREFIX: u32 = 4;
const TOP_NODES: usize = (1 << PREFIX) - 1;

/** Bytes of one column of the block: BLOCK rows of f32. Node offsets are multiples of it. */
const COLUMN: usize = 256;

// The top of a tree is where rows still share nodes: level k has 2^k of them.
// Evaluating all fifteen nodes of levels 0-3 for 16 rows at once (column
// loads, four f32x4 compares narrowed to one byte mask per node, bitselects
// down the levels) is cheaper per row than four dependent scalar steps. A
// fifth level would cost sixteen more nodes to save one step.

// @ts-ignore: decorator
@inline
function mask16(col: usize, T: v128): v128 {
  const a = f32x4.gt(v128.load(col), T);
  const b = f32x4.gt(v128.load(col, 16), T);
  const c = f32x4.gt(v128.load(col, 32), T);
  const d = f32x4.gt(v128.load(col, 48), T);
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

/** Heap index h (16..31) of 16 rows from their masks of the fifteen top nodes (`m`: node i at 64·i). */
// @ts-ignore: decorator
@inline
function treePath(m: usize, hOut: usize): void {
  const b0 = v128.load(m);
  const b1 = v128.bitselect(v128.load(m, 2 * 64), v128.load(m, 1 * 64), b0);
  const b2 = v128.bitselect(
    v128.bitselect(v128.load(m, 6 * 64), v128.load(m, 5 * 64), b1),
    v128.bitselect(v128.load(m, 4 * 64), v128.load(m, 3 * 64), b1), b0);
  const b3 = v128.bitselect(
    v128.bitselect(
      v128.bitselect(v128.load(m, 14 * 64), v128.load(m, 13 * 64), b2),
      v128.bitselect(v128.load(m, 12 * 64), v128.load(m, 11 * 64), b2), b1),
    v128.bitselect(
      v128.bitselect(v128.load(m, 10 * 64), v128.load(m, 9 * 64), b2),
      v128.bitselect(v128.load(m, 8 * 64), v128.load(m, 7 * 64), b2), b1), b0);
  // A set mask byte is -1, so doubling and adding (byte adds, no byte
  // shifts on x64) gives p = -(8·b0 + 4·b1 + 2·b2 + b3) as bits, and h = 16 - p.
  let p = i8x16.add(i8x16.add(b0, b0), b1);
  p = i8x16.add(i8x16.add(p, p), b2);
  p = i8x16.add(i8x16.add(p, p), b3);
  const h = i8x16.sub(i8x16.splat(16), p);
  v128.store(hOut, h);
}

/**
 * Heap index h (16..31) after the first four levels of tree `t` for each of
 * the block's rows, one byte per row at `hRow`. `masks`: TOP_NODES × 64 bytes.
 */
function treeTops(t: usize, cols: usize, hRow: usize, groups: usize, masks: usize): void {
  // Node by node, so one column pointer and one threshold are live at a
  // time (all fifteen at once would not fit the registers).
  for (let i: usize = 0; i < TOP_NODES; i++) {
    const col = cols + <usize>load<u32>(t + (i << 3));
    const T = v128.load32_splat(t + (i << 3), 4);
    const m = masks + (i << 6);
    // A full block written out: the loop's counter and branch were a quarter
    // of this loop's instructions.
    if (groups == 4) {
      v128.store(m, mask16(col, T));
      v128.store(m, mask16(col + 64, T), 16);
      v128.store(m, mask16(col + 128, T), 32);
      v128.store(m, mask16(col + 192, T), 48);
    } else {
      for (let g: usize = 0; g < groups; g++) v128.store(m + (g << 4), mask16(col + (g << 6), T));
    }
  }
  // Down the levels: bit k of a row's path picks among the 2^k masks of level k.
  if (groups == 4) {
    treePath(masks, hRow);
    treePath(masks + 16, hRow + 16);
    treePath(masks + 32, hRow + 32);
    treePath(masks + 48, hRow + 48);
  } else {
    for (let g: usize = 0; g < groups; g++) treePath(masks + (g << 4), hRow + (g << 4));
  }
}

function scoreComplete(model: usize, rows: usize, count: u32, margins: usize, scratch: usize): void {
  const nf = <usize>load<u32>(model, M_NFEAT);
  const ng = <usize>load<u32>(model, M_NGROUP);
  const nt = load<u32>(model, M_NTREES);
  const table = model + <usize>load<u32>(model, M_COMPLETE);
  const rowBytes = nf << 2;
  const mBytes = ng << 2;
  // The block, doubled to (x, -x) so every node is one `>` compare, column by
  // column: column j (feature j, or -feature j-nf) at cols + 256·j.
  const cols = scratch;
  const hBuf = cols + (nf << 1) * COLUMN;
  const masks = hBuf + (<usize>TREE_CHUNK << 6);
  for (let b0: u32 = 0; b0 < count; b0 += BLOCK) {
    const b1 = min(count, b0 + BLOCK);
    // Four rows by four features at a time: a 4×4 transpose in shuffles
    // (about a third of the scalar copy's instructions); the ragged edges
    // (the last rows of a short block, features past a multiple of four)
    // one value at a time.
    const r4 = b0 + ((b1 - b0) & ~3), nf4 = nf & ~3;
    for (let r = b0; r < r4; r += 4) {
      const src = rows + <usize>r * rowBytes;
      const dst = cols + (<usize>(r - b0) << 2);
      for (let j: usize = 0; j < nf4; j += 4) {
        const a = v128.load(src + (j << 2)), b = v128.load(src + rowBytes + (j << 2));
        const c = v128.load(src + 2 * rowBytes + (j << 2)), d = v128.load(src + 3 * rowBytes + (j << 2));
        const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5), ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
        const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5), cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
        const x0 = i32x4.shuffle(ab01, cd01, 0, 1, 4, 5), x1 = i32x4.shuffle(ab01, cd01, 2, 3, 6, 7);
        const x2 = i32x4.shuffle(ab23, cd23, 0, 1, 4, 5), x3 = i32x4.shuffle(ab23, cd23, 2, 3, 6, 7);
        const at = dst + j * COLUMN, neg = dst + (j + nf) * COLUMN;
        v128.store(at, x0); v128.store(at + COLUMN, x1); v128.store(at + 2 * COLUMN, x2); v128.store(at + 3 * COLUMN, x3);
        v128.store(neg, f32x4.neg(x0)); v128.store(neg + COLUMN, f32x4.neg(x1));
        v128.store(neg + 2 * COLUMN, f32x4.neg(x2)); v128.store(neg + 3 * COLUMN, f32x4.neg(x3));
      }
    }
    for (let r = b0; r < b1; r++) {
      const src = rows + <usize>r * rowBytes;
      const dst = cols + (<usize>(r - b0) << 2);
      for (let j: usize = r < r4 ? nf4 : 0; j < nf; j++) {
        const x = load<f32>(src + (j << 2));
        store<f32>(dst + j * COLUMN, x);
        store<f32>(dst + (j + nf) * COLUMN, -x);
      }
    }
    const groups = <usize>(b1 - b0 + 15) >> 4;
    for (let k0: u32 = 0; k0 < nt; k0 += TREE_CHUNK) {
      const k1 = min(nt, k0 + TREE_CHUNK);
      for (let k = k0; k < k1; k++) {
        const tp = table + (<usize>k << 4);
        const hRow = hBuf + (<usize>(k - k0) << 6);
        if (load<u32>(tp, 4) >= PREFIX) treeTops(model + <usize>load<u32>(tp), cols, hRow, groups, masks);
        else memory.fill(hRow, 1, BLOCK);
      }
      let r = b0;
      // Eight rows through a chunk of trees, margins held in locals.
      for (; r + 8 <= b1; r += 8) {
        const lanes = cols + (<usize>(r - b0) << 2);
        const m0 = margins + <usize>r * mBytes;
        const h0 = hBuf + <usize>(r - b0);
        if (ng == 1) {
          // Margins of the eight rows as two f32x4 sums: the same float32 adds,
          // lane by lane, without eight scalar accumulators competing with the
          // steps for registers.
          let a03 = v128.load(m0), a47 = v128.load(m0, 16);
          for (let k = k0; k < k1; k++) {
            const tp = table + (<usize>k << 4);
            const t = model + <usize>load<u32>(tp);
            const t8 = t - 8;
            const depth = load<u32>(tp, 4);
            const h = h0 + (<usize>(k - k0) << 6);
            let n0 = <u32>load<u8>(h), n1 = <u32>load<u8>(h, 1), n2 = <u32>load<u8>(h, 2), n3 = <u32>load<u8>(h, 3);
            let n4 = <u32>load<u8>(h, 4), n5 = <u32>load<u8>(h, 5), n6 = <u32>load<u8>(h, 6), n7 = <u32>load<u8>(h, 7);
            // XGBoost's default max_depth is 6, so most trees are exactly 6 deep:
            // their last two levels run without a loop counter, which frees the
            // register TurboFan otherwise spills for.
            if (depth == PREFIX + 2) {
              {
                const p0 = t8 + (<usize>n0 << 3); n0 = (n0 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p0), 0) > load<f32>(p0, 4));
                const p1 = t8 + (<usize>n1 << 3); n1 = (n1 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p1), 4) > load<f32>(p1, 4));
                const p2 = t8 + (<usize>n2 << 3); n2 = (n2 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p2), 8) > load<f32>(p2, 4));
                const p3 = t8 + (<usize>n3 << 3); n3 = (n3 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p3), 12) > load<f32>(p3, 4));
                const p4 = t8 + (<usize>n4 << 3); n4 = (n4 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p4), 16) > load<f32>(p4, 4));
                const p5 = t8 + (<usize>n5 << 3); n5 = (n5 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p5), 20) > load<f32>(p5, 4));
                const p6 = t8 + (<usize>n6 << 3); n6 = (n6 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p6), 24) > load<f32>(p6, 4));
                const p7 = t8 + (<usize>n7 << 3); n7 = (n7 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p7), 28) > load<f32>(p7, 4));
              }
              {
                const p0 = t8 + (<usize>n0 << 3); n0 = (n0 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p0), 0) > load<f32>(p0, 4));
                const p1 = t8 + (<usize>n1 << 3); n1 = (n1 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p1), 4) > load<f32>(p1, 4));
                const p2 = t8 + (<usize>n2 << 3); n2 = (n2 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p2), 8) > load<f32>(p2, 4));
                const p3 = t8 + (<usize>n3 << 3); n3 = (n3 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p3), 12) > load<f32>(p3, 4));
                const p4 = t8 + (<usize>n4 << 3); n4 = (n4 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p4), 16) > load<f32>(p4, 4));
                const p5 = t8 + (<usize>n5 << 3); n5 = (n5 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p5), 20) > load<f32>(p5, 4));
                const p6 = t8 + (<usize>n6 << 3); n6 = (n6 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p6), 24) > load<f32>(p6, 4));
                const p7 = t8 + (<usize>n7 << 3); n7 = (n7 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p7), 28) > load<f32>(p7, 4));
              }
            } else {
              for (let d: u32 = depth >= PREFIX ? PREFIX : 0; d < depth; d++) {
                // cstep() written out per lane: a load offset must be a literal.
                const p0 = t8 + (<usize>n0 << 3); n0 = (n0 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p0), 0) > load<f32>(p0, 4));
                const p1 = t8 + (<usize>n1 << 3); n1 = (n1 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p1), 4) > load<f32>(p1, 4));
                const p2 = t8 + (<usize>n2 << 3); n2 = (n2 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p2), 8) > load<f32>(p2, 4));
                const p3 = t8 + (<usize>n3 << 3); n3 = (n3 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p3), 12) > load<f32>(p3, 4));
                const p4 = t8 + (<usize>n4 << 3); n4 = (n4 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p4), 16) > load<f32>(p4, 4));
                const p5 = t8 + (<usize>n5 << 3); n5 = (n5 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p5), 20) > load<f32>(p5, 4));
                const p6 = t8 + (<usize>n6 << 3); n6 = (n6 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p6), 24) > load<f32>(p6, 4));
                const p7 = t8 + (<usize>n7 << 3); n7 = (n7 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p7), 28) > load<f32>(p7, 4));
              }
            }
            const leaves = t + (<usize>(<u32>1 << depth) << 2) - 8;
            // Lane loads (one pinsrd each) rather than scalar loads and inserts.
            let l03 = v128.load32_splat(leaves + (<usize>n0 << 2));
            l03 = v128.load32_lane(leaves + (<usize>n1 << 2), l03, 1);
            l03 = v128.load32_lane(leaves + (<usize>n2 << 2), l03, 2);
            l03 = v128.load32_lane(leaves + (<usize>n3 << 2), l03, 3);
            let l47 = v128.load32_splat(leaves + (<usize>n4 << 2));
            l47 = v128.load32_lane(leaves + (<usize>n5 << 2), l47, 1);
            l47 = v128.load32_lane(leaves + (<usize>n6 << 2), l47, 2);
            l47 = v128.load32_lane(leaves + (<usize>n7 << 2), l47, 3);
            a03 = f32x4.add(a03, l03);
            a47 = f32x4.add(a47, l47);
          }
          v128.store(m0, a03);
          v128.store(m0, a47, 16);
        } else {
          // Its own loop, though the steps are the single-output loop's: a
          // branch at the leaves would slow the single-output path.
          for (let k = k0; k < k1; k++) {
            const tp = table + (<usize>k << 4);
            const t = model + <usize>load<u32>(tp);
            const t8 = t - 8;
            const depth = load<u32>(tp, 4);
            const g = m0 + (<usize>load<u32>(tp, 8) << 2);
            const h = h0 + (<usize>(k - k0) << 6);
            let n0 = <u32>load<u8>(h), n1 = <u32>load<u8>(h, 1), n2 = <u32>load<u8>(h, 2), n3 = <u32>load<u8>(h, 3);
            let n4 = <u32>load<u8>(h, 4), n5 = <u32>load<u8>(h, 5), n6 = <u32>load<u8>(h, 6), n7 = <u32>load<u8>(h, 7);
            for (let d: u32 = depth >= PREFIX ? PREFIX : 0; d < depth; d++) {
              // cstep() written out per lane: a load offset must be a literal.
              const p0 = t8 + (<usize>n0 << 3); n0 = (n0 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p0), 0) > load<f32>(p0, 4));
              const p1 = t8 + (<usize>n1 << 3); n1 = (n1 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p1), 4) > load<f32>(p1, 4));
              const p2 = t8 + (<usize>n2 << 3); n2 = (n2 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p2), 8) > load<f32>(p2, 4));
              const p3 = t8 + (<usize>n3 << 3); n3 = (n3 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p3), 12) > load<f32>(p3, 4));
              const p4 = t8 + (<usize>n4 << 3); n4 = (n4 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p4), 16) > load<f32>(p4, 4));
              const p5 = t8 + (<usize>n5 << 3); n5 = (n5 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p5), 20) > load<f32>(p5, 4));
              const p6 = t8 + (<usize>n6 << 3); n6 = (n6 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p6), 24) > load<f32>(p6, 4));
              const p7 = t8 + (<usize>n7 << 3); n7 = (n7 << 1) + <u32>(load<f32>(lanes + <usize>load<u32>(p7), 28) > load<f32>(p7, 4));
            }
            const leaves = t + (<usize>(<u32>1 << depth) << 2) - 8;
            store<f32>(g, load<f32>(g) + cleaf(leaves, n0));
            store<f32>(g + mBytes, load<f32>(g + mBytes) + cleaf(leaves, n1));
            store<f32>(g + 2 * mBytes, load<f32>(g + 2 * mBytes) + cleaf(leaves, n2));
            store<f32>(g + 3 * mBytes, load<f32>(g + 3 * mBytes) + cleaf(leaves, n3));
            store<f32>(g + 4 * mBytes, load<f32>(g + 4 * mBytes) + cleaf(leaves, n4));
            store<f32>(g + 5 * mBytes, load<f32>(g + 5 * mBytes) + cleaf(leaves, n5));
            store<f32>(g + 6 * mBytes, load<f32>(g + 6 * mBytes) + cleaf(leaves, n6));
            store<f32>(g + 7 * mBytes, load<f32>(g + 7 * mBytes) + cleaf(leaves, n7));
          }
        }
      }
      for (; r < b1; r++) {
        const lane = cols + (<usize>(r - b0) << 2);
        for (let k = k0; k < k1; k++) {
          const tp = table + (<usize>k << 4);
          const t = model + <usize>load<u32>(tp);
          const depth = load<u32>(tp, 4);
          const g = margins + <usize>r * mBytes + (<usize>load<u32>(tp, 8) << 2);
          let n = <u32>load<u8>(hBuf + (<usize>(k - k0) << 6) + <usize>(r - b0));
          for (let d: u32 = depth >= PREFIX ? PREFIX : 0; d < depth; d++) n = cstep(t - 8, n, lane);
          store<f32>(g, load<f32>(g) + cleaf(t + (<usize>(<u32>1 << depth) << 2) - 8, n));
        }
      }
    }
  }
}

/**
 * Margins of `count` rows (float32, row-major, numFeature per row, NaN =
 * missing) into `margins` (float32, numGroup per row), summed in float32 in
 * tree order from the base margin, exactly as XGBoost's CPU predictor does.
 * `scratch`: 8·numFeature·64 + 64·(TREE_CHUNK + TOP_NODES) bytes for the
 * complete-tree path (its doubled block column by column, where each row
 * stands after the tops, the top nodes' masks).
 */
export function tree_score(model: usize, rows: usize, count: u32, margins: usize, scratch: usize): void {
  const nf = <usize>load<u32>(model, M_NFEAT);
  const ng = <usize>load<u32>(model, M_NGROUP);
  const nt = load<u32>(model, M_NTREES);
  const trees = model + <usize>load<u32>(model, M_TREES);
  const nodes = model + <usize>load<u32>(model, M_NODES);
  const base = load<f32>(model, M_BASE);
  const rowBytes = nf << 2;
  const mBytes = ng << 2;
  for (let i: usize = 0, n = <usize>count * ng; i < n; i++) store<f32>(margins + (i << 2), base);
  if (load<u32>(model, M_COMPLETE) != 0) {
    scoreComplete(model, rows, count, margins, scratch);
    return;
  }

  for (let b0: u32 = 0; b0 < count; b0 += BLOCK) {
    const b1 = min(count, b0 + BLOCK);
    for (let t: u32 = 0; t < nt; t++) {
      const tp = trees + (<usize>t << 4);
      const root = load<u32>(tp);
      const depth = load<u32>(tp, 4);
      const gOff = <usize>load<u32>(tp, 8) << 2;
      const w = load<f32>(tp, 12);
      let r = b0;
      for (; r + 4 <= b1; r += 4) {
        const row0 = rows + <usize>r * rowBytes;
        const row1 = row0 + rowBytes;
        const row2 = row1 + rowBytes;
        const row3 = row2 + rowBytes;
        let n0 = root, n1 = root, n2 = root, n3 = root;
        for (let d: u32 = 0; d < depth; d++) {
          n0 = step(nodes, n0, row0);
          n1 = step(nodes, n1, row1);
          n2 = step(nodes, n2, row2);
          n3 = step(nodes, n3, row3);
        }
        const m0 = margins + <usize>r * mBytes + gOff;
        addLeaf(nodes, n0, m0, w);
        addLeaf(nodes, n1, m0 + mBytes, w);
        addLeaf(nodes, n2, m0 + 2 * mBytes, w);
        addLeaf(nodes, n3, m0 + 3 * mBytes, w);
      }
      for (; r < b1; r++) {
        const row = rows + <usize>r * rowBytes;
        let n = root;
        for (let d: u32 = 0; d < depth; d++) n = step(nodes, n, row);
        addLeaf(nodes, n, margins + <usize>r * mBytes + gOff, w);
      }
    }
  }
}

/** Predictions (numOutputs float32 per row) from margins, XGBoost's PredTransform. */
export function tree_link(model: usize, margins: usize, count: u32, preds: usize): void {
  const ng = <usize>load<u32>(model, M_NGROUP);
  const no = <usize>load<u32>(model, M_NOUT);
  const link = load<u32>(model, M_LINK);
  for (let r: usize = 0; r < <usize>count; r++) {
    const m = margins + r * (ng << 2);
    const p = preds + r * (no << 2);
    if (link == LINK_SOFTMAX) {
      let mx = load<f32>(m);
      for (let g: usize = 1; g < ng; g++) mx = max(mx, load<f32>(m + (g << 2)));
      let sum: f64 = 0;
      for (let g: usize = 0; g < ng; g++) sum += Math.exp(<f64>load<f32>(m + (g << 2)) - <f64>mx);
      for (let g: usize = 0; g < ng; g++) store<f32>(p + (g << 2), <f32>(Math.exp(<f64>load<f32>(m + (g << 2)) - <f64>mx) / sum));
    } else if (link == LINK_ARGMAX) {
      let best: usize = 0;
      for (let g: usize = 1; g < ng; g++) if (load<f32>(m + (g << 2)) > load<f32>(m + (best << 2))) best = g;
      store<f32>(p, <f32>best);
    } else {
      for (let g: usize = 0; g < ng; g++) {
        const x = <f64>load<f32>(m + (g << 2));
        let y: f64 = x;
        if (link == LINK_SIGMOID) y = 1.0 / (1.0 + Math.exp(-x));
        else if (link == LINK_EXP) y = Math.exp(x);
        else if (link == LINK_HINGE) y = x > 0 ? 1.0 : 0.0;
        store<f32>(p + (g << 2), <f32>y);
      }
    }
  }
  // LINK_IDENTITY falls through the generic branch unchanged.
  void LINK_IDENTITY;
}

/**
 * Feature rows from input records: model feature i is record field
 * featureMap[i] (f64, rounded to float32 as XGBoost does; NaN = missing).
 */
export function tree_gather(model: usize, featureMap: usize, recs: usize, count: u32, stride: u32, rows: usize): void {
  const nf = <usize>load<u32>(model, M_NFEAT);
  for (let r: usize = 0; r < <usize>count; r++) {
    const rec = recs + r * <usize>stride + IN_FIELDS;
    const row = rows + r * (nf << 2);
    for (let i: usize = 0; i < nf; i++) {
      store<f32>(row + (i << 2), <f32>load<f64>(rec + (<usize>load<u32>(featureMap + (i << 2)) << 3)));
    }
  }
}

/**
 * One OUT_SCORE record per data record (control records are skipped) at
 * `out`, from `values` (float32, `width` per row: predictions or margins).
 * With `alertsOnly`, only rows whose score reaches `threshold` are emitted;
 * the score is the row's only value, or its largest when there are several.
 * Returns how many records were written.
 */
export function tree_emit(values: usize, width: u32, recs: usize, count: u32, stride: u32, out: usize, op: u32, alertsOnly: u32, threshold: f64): u32 {
  let written: u32 = 0;
  for (let r: usize = 0; r < <usize>count; r++) {
    const rec = recs + r * <usize>stride;
    if (load<u32>(rec, IN_FLAGS) & FLAG_CONTROL) continue;
    const p = values + r * (<usize>width << 2);
    if (alertsOnly) {
      let score = <f64>load<f32>(p);
      for (let k: usize = 1; k < <usize>width; k++) score = max(score, <f64>load<f32>(p + (k << 2)));
      if (!(score >= threshold)) continue;
    }
    const at = out + <usize>written * OUT_BYTES;
    const ts = load<i64>(rec, IN_TS);
    writeOutHeader(at, OUT_SCORE, op, load<u32>(rec, IN_KEY), width, ts, ts, load<u64>(rec, IN_SEQ));
    for (let k: usize = 0; k < 11; k++) {
      store<f64>(at + OUT_VALUES + (k << 3), k < <usize>width ? <f64>load<f32>(p + (k << 2)) : 0.0);
    }
    written++;
  }
  return written;
}
