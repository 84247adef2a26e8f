/**
 * The inner loop of vector search: the dot product of one query with every stored vector.
 * Plain JavaScript cannot use SIMD; WebAssembly's 128-bit SIMD (in every Node since 16.4) can.
 * The vectors are scanned as int8 (each with a float32 scale) against an int16 query: a quarter
 * of float32's bytes, which is what a scan costs once the vectors have left the CPU's caches
 * (~0.35 -> ~0.1 ms for 5,000 x 100 dimensions on a busy server). The scores are approximate;
 * FlatVectorSet rescores the candidates from float32, so searches stay exact. The source is
 * dot-kernel.wat (the file says why it has its shape); dot-kernel-wasm.ts holds the assembled
 * bytes, so the runtime needs no toolchain. Where WebAssembly SIMD is missing, a JavaScript loop
 * computes the same float32 values.
 *
 * Memory layout: the query takes `queryLanesFor(vectorBytes)` int16 (zero past the dimensions),
 * each vector `vectorBytes` int8 (a multiple of 8, zero-padded), the scales and the scores one
 * float32 per vector; offsets are in bytes. The kernel reads vectors 16 bytes at a time, so it may
 * read 8 bytes past the last vector (the scales are there): the query's zero lanes cancel them.
 */

import { DOT_KERNEL_WASM_BASE64 } from './dot-kernel-wasm.js';

// The few WebAssembly APIs used here (the project's TypeScript libs, ES2023 without DOM, do not
// declare the WebAssembly global although Node has it).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds 64 KiB pages; returns the previous size in pages. */
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
declare const WebAssembly: WasmApi | undefined;

export const WASM_PAGE_BYTES = 65_536;

/**
 * Memory the kernel can read: a WebAssembly memory (an ArrayBuffer that grows in place, in 64 KiB
 * pages), or a plain stand-in with the same shape where WebAssembly is missing.
 */
export function createKernelMemory(pages: number): WasmMemory {
  if (typeof WebAssembly === 'object') return new WebAssembly.Memory({ initial: pages });
  let buffer = new ArrayBuffer(pages * WASM_PAGE_BYTES);
  return {
    get buffer() {
      return buffer;
    },
    grow(more) {
      const previous = buffer.byteLength / WASM_PAGE_BYTES;
      const grown = new ArrayBuffer(buffer.byteLength + more * WASM_PAGE_BYTES);
      new Uint8Array(grown).set(new Uint8Array(buffer));
      buffer = grown;
      return previous;
    },
  };
}

/**
 * Bytes per stored int8 vector for `dimensions`: padded to a multiple of 8 (the kernel widens 8
 * at a time), not 16 — 100 dimensions take 104 bytes, not 112, and a scan reads 7% less.
 */
export function vectorBytesFor(dimensions: number): number {
  return Math.ceil(dimensions / 8) * 8;
}

/** int16 lanes of the query for vectors of `vectorBytes`: the kernel reads them 16 at a time. */
export function queryLanesFor(vectorBytes: number): number {
  return Math.ceil(vectorBytes / 16) * 16;
}

/**
 * Writes `count` approximate scores as float32 at `outOffset`:
 * out[i] = (sum over j of vector_i[j] * query[j]) * scales[i] * queryScale, the sum in exact integers.
 */
export type DotKernel = (queryOffset: number, vectorsOffset: number, count: number, vectorBytes: number, scalesOffset: number, outOffset: number, queryScale: number) => void;

/** The kernel's module (source: dot-kernel.wat), decoded on first use. */
const kernelBytes = (): Uint8Array => Uint8Array.from(Buffer.from(DOT_KERNEL_WASM_BASE64, 'base64'));

let compiled: object | null | undefined;

/** The compiled SIMD module, or null where this runtime lacks WebAssembly SIMD. */
function simdModule(): object | null {
  if (compiled === undefined) {
    try {
      if (typeof WebAssembly !== 'object') {
        compiled = null;
      } else {
        const bytes = kernelBytes();
        compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
      }
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Indices i < count with scores[i] >= floor, written as int32 at `outOffset` in order; returns how many. */
export type AboveKernel = (scoresOffset: number, count: number, floor: number, outOffset: number) => number;

/**
 * The largest of each block of `block` scores (a multiple of 4, at most `count`), written as
 * float32 at `outOffset`; the last block also takes the `count % block` scores left over. Returns
 * how many blocks. Scores must be finite (FlatVectorSet's are).
 */
export type MaximaKernel = (scoresOffset: number, count: number, block: number, outOffset: number) => number;

/**
 * For the `count` int32 slot numbers at `slotsOffset`, the float64 dot product of float32 row
 * slot (`dimensions` floats from `exactOffset` + slot × dimensions × 4) with the float64 query at
 * `queryOffset`, written as float64 at `outOffset`.
 */
export type RescoreKernel = (exactOffset: number, dimensions: number, slotsOffset: number, count: number, queryOffset: number, outOffset: number) => void;

/** The kernel's functions over one memory. */
export interface VectorKernel {
  readonly dots: DotKernel;
  readonly above: AboveKernel;
  readonly maxima: MaximaKernel;
  readonly rescore: RescoreKernel;
}

/**
 * The kernel over `memory`: WebAssembly SIMD when available (unless `simd` is false), else plain
 * JavaScript computing the same values. Both read the memory's current buffer on every call, so
 * the memory may grow between calls.
 */
export function vectorKernel(memory: WasmMemory, options: { simd?: boolean } = {}): VectorKernel {
  const module = options.simd === false ? null : simdModule();
  if (module !== null && typeof WebAssembly === 'object') {
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    return { dots: exports['dots'] as DotKernel, above: exports['above'] as AboveKernel, maxima: exports['maxima'] as MaximaKernel, rescore: exports['rescore'] as RescoreKernel };
  }
  return {
    dots(queryOffset, vectorsOffset, count, vectorBytes, scalesOffset, outOffset, queryScale) {
      const { buffer } = memory;
      const query = new Int16Array(buffer, queryOffset, vectorBytes);
      const vectors = new Int8Array(buffer, vectorsOffset, count * vectorBytes);
      const scales = new Float32Array(buffer, scalesOffset, count);
      const out = new Float32Array(buffer, outOffset, count);
      const scale = Math.fround(queryScale);
      for (let index = 0, base = 0; index < count; index += 1, base += vectorBytes) {
        let sum = 0;
        for (let j = 0; j < vectorBytes; j += 1) sum += vectors[base + j]! * query[j]!;
        // The same float32 steps as the kernel: convert, times the vector's scale, times the query's.
        out[index] = Math.fround(Math.fround(sum) * scales[index]!) * scale;
      }
    },
    above(scoresOffset, count, floor, outOffset) {
      const scores = new Float32Array(memory.buffer, scoresOffset, count);
      const out = new Int32Array(memory.buffer, outOffset, count);
      const limit = Math.fround(floor);
      let found = 0;
      for (let index = 0; index < count; index += 1) if (scores[index]! >= limit) out[found++] = index;
      return found;
    },
    maxima(scoresOffset, count, block, outOffset) {
      const scores = new Float32Array(memory.buffer, scoresOffset, count);
      const blocks = Math.floor(count / block);
      const out = new Float32Array(memory.buffer, outOffset, blocks);
      for (let index = 0; index < blocks; index += 1) {
        const end = index === blocks - 1 ? count : (index + 1) * block;
        let largest = scores[index * block]!;
        for (let slot = index * block + 1; slot < end; slot += 1) if (largest < scores[slot]!) largest = scores[slot]!;
        out[index] = largest;
      }
      return blocks;
    },
    rescore(exactOffset, dimensions, slotsOffset, count, queryOffset, outOffset) {
      const { buffer } = memory;
      const exact = new Float32Array(buffer, exactOffset);
      const slots = new Int32Array(buffer, slotsOffset, count);
      const query = new Float64Array(buffer, queryOffset, dimensions);
      const out = new Float64Array(buffer, outOffset, count);
      for (let index = 0; index < count; index += 1) {
        const base = slots[index]! * dimensions;
        // Four running sums, combined as the kernel combines its lanes.
        let sum0 = 0;
        let sum1 = 0;
        let sum2 = 0;
        let sum3 = 0;
        let j = 0;
        for (; j + 3 < dimensions; j += 4) {
          sum0 += exact[base + j]! * query[j]!;
          sum1 += exact[base + j + 1]! * query[j + 1]!;
          sum2 += exact[base + j + 2]! * query[j + 2]!;
          sum3 += exact[base + j + 3]! * query[j + 3]!;
        }
        for (; j < dimensions; j += 1) sum0 += exact[base + j]! * query[j]!;
        out[index] = sum0 + sum1 + (sum2 + sum3);
      }
    },
  };
}

/** Whether the fast kernel is in use (for tests and diagnostics). */
export function hasSimdKernel(): boolean {
  return simdModule() !== null;
}
