;; The SIMD kernel of dot-kernel.ts, as WebAssembly text. dot-kernel-wasm.ts holds its assembled
;; bytes: after editing this file run `node scripts/gen-dot-kernel.mjs` (a test checks they match).
;;
;; dots(q, v, n, bytes, scales, out, qscale) writes, for the n int8 vectors stored back to back
;; from byte offset v (`bytes` each, a multiple of 8), the float32
;;     out[i] = (Σ_j v_i[j] · q[j]) · scales[i] · qscale
;; where q is the query as int16 (`bytes` rounded up to a multiple of 16 of them) and scales[i] is
;; the float32 that turns vector i's int8 values back into its floats. The integer sums are exact.
;; The loops read 16 bytes a step, so when `bytes` is an odd multiple of 8 a vector's last step
;; reads 8 bytes past it (into the next vector, or past the last one: the memory must hold them);
;; the query's lanes there are zero, so those bytes add nothing.
;;
;; Why this shape: a scan of 5,000 float32 vectors of 100 dimensions reads 2 MB, which a busy
;; server no longer has in cache by the next search, so the scan ran at memory speed (~0.35 ms on
;; a 2-vCPU VM). int8 reads a quarter of that and i32x4.dot_i16x8_s does eight multiply-adds per
;; instruction. Four vectors per pass, two accumulators each, keep eight independent add chains
;; and load each query block once for four vectors; the vectors past the last multiple of four
;; go through a one-vector loop. v128.load8x8_s loads eight int8 and widens them to int16 in one
;; instruction (pmovsxbw from memory), where a 16-byte load and the two extends took four. The scores are approximate (int8 rounding): FlatVectorSet
;; rescores the candidates from its float32 copies, so searches stay exact.
(module
  (import "env" "memory" (memory 0))
  (func (export "dots")
    (param $q i32) (param $v i32) (param $n i32) (param $bytes i32) (param $scales i32) (param $out i32) (param $qscale f32)
    (local $j i32) (local $p i32) (local $qj i32)
    (local $qlo v128) (local $qhi v128) (local $x v128) (local $y v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)

    ;; Four vectors per pass: a_i sums the low 8 bytes of each 16-byte block of vector i, b_i the high 8.
    (block $done4
      (loop $four
        (br_if $done4 (i32.lt_u (local.get $n) (i32.const 4)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $b0 (v128.const i32x4 0 0 0 0))
        (local.set $b1 (v128.const i32x4 0 0 0 0))
        (local.set $b2 (v128.const i32x4 0 0 0 0))
        (local.set $b3 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (loop $block
          ;; the query's int16 for this block's 16 dimensions
          (local.set $qj (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 1))))
          (local.set $qlo (v128.load (local.get $qj)))
          (local.set $qhi (v128.load offset=16 (local.get $qj)))
          (local.set $p (i32.add (local.get $v) (local.get $j)))
          (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p)) (local.get $qlo))))
          (local.set $b0 (i32x4.add (local.get $b0) (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (local.get $qhi))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p)) (local.get $qlo))))
          (local.set $b1 (i32x4.add (local.get $b1) (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (local.get $qhi))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p)) (local.get $qlo))))
          (local.set $b2 (i32x4.add (local.get $b2) (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (local.get $qhi))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p)) (local.get $qlo))))
          (local.set $b3 (i32x4.add (local.get $b3) (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (local.get $qhi))))
          (br_if $block (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (local.get $bytes))))
        (local.set $a0 (i32x4.add (local.get $a0) (local.get $b0)))
        (local.set $a1 (i32x4.add (local.get $a1) (local.get $b1)))
        (local.set $a2 (i32x4.add (local.get $a2) (local.get $b2)))
        (local.set $a3 (i32x4.add (local.get $a3) (local.get $b3)))
        ;; Transposing sum: x = (a0.0+a0.2, a1.0+a1.2, a0.1+a0.3, a1.1+a1.3), y likewise for a2, a3;
        ;; then (x.0+x.2, x.1+x.3, y.0+y.2, y.1+y.3) = (Σa0, Σa1, Σa2, Σa3).
        (local.set $x (i32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
        (local.set $y (i32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
        (v128.store (local.get $out)
          (f32x4.mul
            (f32x4.mul
              (f32x4.convert_i32x4_s (i32x4.add
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x) (local.get $y))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x) (local.get $y))))
              (v128.load (local.get $scales)))
            (f32x4.splat (local.get $qscale))))
        (local.set $v (i32.add (local.get $v) (i32.shl (local.get $bytes) (i32.const 2))))
        (local.set $scales (i32.add (local.get $scales) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $four)))

    ;; The last n % 4 vectors, one per pass (integer sums are exact and the scaling is the same
    ;; float32 operations, so a vector scores the same wherever it sits).
    (block $done
      (loop $one
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $b0 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (loop $block1
          (local.set $qj (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 1))))
          (local.set $p (i32.add (local.get $v) (local.get $j)))
          (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p)) (v128.load (local.get $qj)))))
          (local.set $b0 (i32x4.add (local.get $b0) (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (v128.load offset=16 (local.get $qj)))))
          (br_if $block1 (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (local.get $bytes))))
        (local.set $a0 (i32x4.add (local.get $a0) (local.get $b0)))
        (f32.store (local.get $out)
          (f32.mul
            (f32.mul
              (f32.convert_i32_s (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $a0)) (i32x4.extract_lane 2 (local.get $a0)))
                (i32.add (i32x4.extract_lane 1 (local.get $a0)) (i32x4.extract_lane 3 (local.get $a0)))))
              (f32.load (local.get $scales)))
            (local.get $qscale)))
        (local.set $v (i32.add (local.get $v) (local.get $bytes)))
        (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $one))))

  ;; maxima(scores, n, block, out) writes the largest score of each block of `block` scores (a
  ;; multiple of 4, at most n) as float32 at out, the last block also taking the n % block scores
  ;; left over, and returns how many blocks. FlatVectorSet's first round bounds its cut with them.
  ;; Scores are finite, so the pseudo-maximum (pmax: b if a < b, else a; one instruction, where
  ;; f32x4.max spends several on NaN and -0 rules) is the maximum.
  (func (export "maxima") (param $scores i32) (param $n i32) (param $block i32) (param $out i32) (result i32)
    (local $blocks i32) (local $b i32) (local $p i32) (local $end i32) (local $tail i32) (local $acc v128) (local $m f32) (local $x f32)
    (local.set $blocks (i32.div_u (local.get $n) (local.get $block)))
    (local.set $p (local.get $scores))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $b) (local.get $blocks)))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $block) (i32.const 2))))
        (local.set $acc (v128.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (block $blockDone
          (loop $lanes
            (br_if $blockDone (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $acc (f32x4.pmax (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $lanes)))
        ;; the four lanes' largest: halves against each other, then the two left
        (local.set $acc (f32x4.pmax (local.get $acc) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))
        (local.set $acc (f32x4.pmax (local.get $acc) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $acc) (local.get $acc))))
        (local.set $m (f32x4.extract_lane 0 (local.get $acc)))
        ;; the last block takes the scores past the last whole block
        (if (i32.eq (local.get $b) (i32.sub (local.get $blocks) (i32.const 1)))
          (then
            (local.set $tail (i32.add (local.get $scores) (i32.shl (local.get $n) (i32.const 2))))
            (block $tailDone
              (loop $rest
                (br_if $tailDone (i32.ge_u (local.get $p) (local.get $tail)))
                (local.set $x (f32.load (local.get $p)))
                (local.set $m (select (local.get $x) (local.get $m) (f32.lt (local.get $m) (local.get $x))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $rest)))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $b) (i32.const 2))) (local.get $m))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $each)))
    (local.get $blocks))

  ;; rescore(exact, dims, slots, n, q, out) writes, for the n int32 slot numbers at `slots`, the
  ;; float64 dot product of float32 row slot (`dims` floats from exact + slot * dims * 4) with the
  ;; float64 query at q, at out. Four running sums (dimensions j % 4 = 0, 1, 2, 3; the remainder
  ;; added to the first) combined as (s0 + s1) + (s2 + s3): the same float64 operations in the
  ;; same order as the JavaScript fallback, so the scores are the same to the bit. Two lanes per
  ;; instruction, and no bounds checks, make it several times faster than the JavaScript loop.
  (func (export "rescore") (param $exact i32) (param $dims i32) (param $slots i32) (param $n i32) (param $q i32) (param $out i32)
    (local $i i32) (local $row i32) (local $j i32) (local $quads i32) (local $x v128) (local $a v128) (local $b v128) (local $s0 f64)
    (local.set $quads (i32.and (local.get $dims) (i32.const -4)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $row (i32.add (local.get $exact)
          (i32.mul (i32.load (i32.add (local.get $slots) (i32.shl (local.get $i) (i32.const 2)))) (i32.shl (local.get $dims) (i32.const 2)))))
        (local.set $a (f64x2.splat (f64.const 0)))
        (local.set $b (f64x2.splat (f64.const 0)))
        (local.set $j (i32.const 0))
        (block $quadsDone
          (loop $quad
            (br_if $quadsDone (i32.ge_u (local.get $j) (local.get $quads)))
            (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $a (f64x2.add (local.get $a) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $x))
              (v128.load (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $b (f64x2.add (local.get $b) (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))
              (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quad)))
        (local.set $s0 (f64x2.extract_lane 0 (local.get $a)))
        (block $restDone
          (loop $rest
            (br_if $restDone (i32.ge_u (local.get $j) (local.get $dims)))
            (local.set $s0 (f64.add (local.get $s0) (f64.mul
              (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
              (f64.load (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $rest)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add
            (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $a)))
            (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; above(scores, n, floor, out) writes the indices i < n with scores[i] >= floor (float32) as
  ;; int32 at out, in order, and returns how many. FlatVectorSet's second round asks it for the
  ;; few vectors near the k-th score; comparing four scores per instruction and skipping groups
  ;; with none keeps the pass over every score short.
  (func (export "above") (param $scores i32) (param $n i32) (param $floor f32) (param $out i32) (result i32)
    (local $i i32) (local $count i32) (local $mask i32) (local $limit v128)
    (local.set $limit (f32x4.splat (local.get $floor)))
    ;; groups of four
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $mask (i32x4.bitmask (f32x4.ge (v128.load (i32.add (local.get $scores) (i32.shl (local.get $i) (i32.const 2)))) (local.get $limit))))
        (if (local.get $mask)
          (then
            (if (i32.and (local.get $mask) (i32.const 1)) (then
              (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
              (local.set $count (i32.add (local.get $count) (i32.const 1)))))
            (if (i32.and (local.get $mask) (i32.const 2)) (then
              (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (i32.add (local.get $i) (i32.const 1)))
              (local.set $count (i32.add (local.get $count) (i32.const 1)))))
            (if (i32.and (local.get $mask) (i32.const 4)) (then
              (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (i32.add (local.get $i) (i32.const 2)))
              (local.set $count (i32.add (local.get $count) (i32.const 1)))))
            (if (i32.and (local.get $mask) (i32.const 8)) (then
              (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (i32.add (local.get $i) (i32.const 3)))
              (local.set $count (i32.add (local.get $count) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    ;; the rest, one at a time
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (f32.ge (f32.load (i32.add (local.get $scores) (i32.shl (local.get $i) (i32.const 2)))) (local.get $floor))
          (then
            (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))
    (local.get $count)))
