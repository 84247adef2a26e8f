/**
 * The inner loop of exact vector search: the dot product of one query with every stored vector.
 * Plain JavaScript cannot use SIMD, and a scalar loop over 5,000 × 100 floats takes about a
 * millisecond — most of a search. The same loop in WebAssembly with 128-bit SIMD (f32x4, in every
 * Node since 16.4) is several times faster. The module is tiny, so it is written out here as bytes
 * (annotated below) rather than adding a toolchain; where WebAssembly SIMD is missing, the
 * JavaScript loop computes the same sums.
 *
 * Memory layout (float32, little-endian): the query and each vector take `stride` floats, a
 * multiple of 8 (zero-padded), so the loop needs no tail: two f32x4 accumulators per step.
 */

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

// prettier-ignore
const WASM_DOT = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  // type section: (func (param i32 i32 i32 i32 i32))
  0x01, 0x09, 0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00,
  // import section: (import "env" "memory" (memory 0))
  0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x00,
  // function section: one function of type 0
  0x03, 0x02, 0x01, 0x00,
  // export section: "dots" = function 0
  0x07, 0x08, 0x01, 0x04, 0x64, 0x6f, 0x74, 0x73, 0x00, 0x00,
  // code section: one body. Params 0 q, 1 v, 2 n, 3 lanes (v128 per vector), 4 out;
  // locals 5 j, 6 qp (i32), 7 a, 8 b (v128).
  0x0a, 0xab, 0x01, 0x01, 0xa8, 0x01, // section size 171, one body of 168 bytes
  0x02, 0x02, 0x7f, 0x02, 0x7b,
  0x02, 0x40, //                                  block
  0x20, 0x02, 0x45, 0x0d, 0x00, //                  n == 0 → done
  0x03, 0x40, //                                    loop (one vector)
  0xfd, 0x0c, ...new Array<number>(16).fill(0), //   a = b = 0
  0x22, 0x07, 0x21, 0x08,
  0x20, 0x00, 0x21, 0x06, //                          qp = q
  0x20, 0x03, 0x21, 0x05, //                          j = lanes
  0x03, 0x40, //                                      loop (two lanes)
  0x20, 0x07, 0x20, 0x01, 0xfd, 0x00, 0x04, 0x00, //    a += v[0] * qp[0]
  0x20, 0x06, 0xfd, 0x00, 0x04, 0x00, 0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x07,
  0x20, 0x08, 0x20, 0x01, 0xfd, 0x00, 0x04, 0x10, //    b += v[1] * qp[1]
  0x20, 0x06, 0xfd, 0x00, 0x04, 0x10, 0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x08,
  0x20, 0x01, 0x41, 0x20, 0x6a, 0x21, 0x01, //         v += 32
  0x20, 0x06, 0x41, 0x20, 0x6a, 0x21, 0x06, //         qp += 32
  0x20, 0x05, 0x41, 0x02, 0x6b, 0x22, 0x05, 0x0d, 0x00, // j -= 2, again while j != 0
  0x0b, //                                            end
  0x20, 0x04, //                                      *out = sum of the lanes of a + b
  0x20, 0x07, 0x20, 0x08, 0xfd, 0xe4, 0x01, 0x22, 0x07,
  0xfd, 0x1f, 0x00, 0x20, 0x07, 0xfd, 0x1f, 0x01, 0x92, 0x20, 0x07, 0xfd, 0x1f, 0x02, 0x92, 0x20, 0x07, 0xfd, 0x1f, 0x03, 0x92,
  0x38, 0x02, 0x00,
  0x20, 0x04, 0x41, 0x04, 0x6a, 0x21, 0x04, //         out += 4
  0x20, 0x02, 0x41, 0x01, 0x6b, 0x22, 0x02, 0x0d, 0x00, // n -= 1, again while n != 0
  0x0b, //                                          end
  0x0b, //                                        end
  0x0b, //                                      end of body
]);

let compiled: object | null | undefined;

/** The compiled SIMD module, or null where this runtime lacks WebAssembly SIMD. */
function simdModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = typeof WebAssembly === 'object' && WebAssembly.validate(WASM_DOT) ? new WebAssembly.Module(WASM_DOT) : null;
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
