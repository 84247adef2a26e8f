/**
 * The inner loop of exact vector search: the dot product of one query with every stored vector.
 * Plain JavaScript cannot use SIMD, and a scalar loop over 5,000 × 100 floats takes about a
 * millisecond — most of a search. The same loop in WebAssembly with 128-bit SIMD (f32x4, in every
 * Node since 16.4) is several times faster. Its source is dot-kernel.wat (four vectors per pass,
 * eight independent accumulators; the file says why); dot-kernel-wasm.ts holds the assembled
 * bytes, so the runtime needs no toolchain. Where WebAssembly SIMD is missing, the JavaScript loop
 * computes the same sums (in another order: the last bits may differ).
 *
 * Memory layout (float32, little-endian): the query and each vector take `stride` floats, a
 * multiple of 8 (zero-padded), so a vector is a whole number of f32x4 pairs.
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

/** Floats per stored vector for `dimensions`: padded to a multiple of 8 (two f32x4 lanes). */
export function strideFor(dimensions: number): number {
  return Math.ceil(dimensions / 8) * 8;
}

/** Writes `count` dot products (query · vector i) as float32 at `outOffset` (byte offsets into `memory`). */
export type DotKernel = (queryOffset: number, vectorsOffset: number, count: number, stride: number, outOffset: number) => void;

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

/**
 * A dot-product kernel over `memory`: WebAssembly SIMD when available (unless `simd` is false),
 * else plain JavaScript. Both read the memory's current buffer on every call, so the memory may
 * grow between calls.
 */
export function dotKernel(memory: WasmMemory, options: { simd?: boolean } = {}): DotKernel {
  const module = options.simd === false ? null : simdModule();
  if (module !== null && typeof WebAssembly === 'object') {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const dots = instance.exports['dots'] as (q: number, v: number, n: number, lanes: number, out: number) => void;
    return (queryOffset, vectorsOffset, count, stride, outOffset) => {
      if (count > 0) dots(queryOffset, vectorsOffset, count, stride / 4, outOffset);
    };
  }
  return (queryOffset, vectorsOffset, count, stride, outOffset) => {
    const floats = new Float32Array(memory.buffer);
    const query = queryOffset / 4;
    const out = outOffset / 4;
    for (let index = 0, base = vectorsOffset / 4; index < count; index += 1, base += stride) {
      let sum = 0;
      for (let j = 0; j < stride; j += 1) sum += floats[base + j]! * floats[query + j]!;
      floats[out + index] = sum;
    }
  };
}

/** Whether the fast kernel is in use (for tests and diagnostics). */
export function hasSimdKernel(): boolean {
  return simdModule() !== null;
}
