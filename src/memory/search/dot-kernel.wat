;; The SIMD dot-product kernel of dot-kernel.ts, as WebAssembly text. dot-kernel-wasm.ts holds its
;; assembled bytes: after editing this file run `npm run gen:dot-kernel` (a test checks the two match).
;;
;; dots(q, v, n, lanes, out) writes out[i] = q · v_i (float32) for the n vectors stored back to back
;; from byte offset v, each `lanes` v128 long (4 floats per lane; lanes is even), q being the query.
;;
;; Why this shape: one vector at a time with one or two accumulators is bound by the latency of the
;; f32x4.add chain, not by the loads. Four vectors at a time, two accumulators each, give eight
;; independent chains and load each query lane once for four vectors (~1.8× faster on 5,000 × 100
;; dimensions). The vectors past the last multiple of four go through a one-vector loop.
(module
  (import "env" "memory" (memory 0))
  (func (export "dots") (param $q i32) (param $v i32) (param $n i32) (param $lanes i32) (param $out i32)
    (local $bytes i32) (local $j i32) (local $p i32)
    (local $q0 v128) (local $q1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $x v128) (local $y v128)
    ;; bytes per vector
    (local.set $bytes (i32.shl (local.get $lanes) (i32.const 4)))

    ;; Four vectors per pass: a_i sums the even lanes of vector i, b_i the odd ones.
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
        (loop $lane
          (local.set $q0 (v128.load (i32.add (local.get $q) (local.get $j))))
          (local.set $q1 (v128.load offset=16 (i32.add (local.get $q) (local.get $j))))
          (local.set $p (i32.add (local.get $v) (local.get $j)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (local.get $p)) (local.get $q0))))
          (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $q1))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load (local.get $p)) (local.get $q0))))
          (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $q1))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load (local.get $p)) (local.get $q0))))
          (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $q1))))
          (local.set $p (i32.add (local.get $p) (local.get $bytes)))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load (local.get $p)) (local.get $q0))))
          (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $q1))))
          (br_if $lane (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 32))) (local.get $bytes))))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $b0)))
        (local.set $a1 (f32x4.add (local.get $a1) (local.get $b1)))
        (local.set $a2 (f32x4.add (local.get $a2) (local.get $b2)))
        (local.set $a3 (f32x4.add (local.get $a3) (local.get $b3)))
        ;; Transposing sum: x = (a0.0+a0.2, a1.0+a1.2, a0.1+a0.3, a1.1+a1.3), y likewise for a2, a3;
        ;; then (x.0+x.2, x.1+x.3, y.0+y.2, y.1+y.3) = (Σa0, Σa1, Σa2, Σa3), stored in one go.
        (local.set $x (f32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
        (local.set $y (f32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
        (v128.store (local.get $out) (f32x4.add
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x) (local.get $y))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x) (local.get $y))))
        (local.set $v (i32.add (local.get $v) (i32.shl (local.get $bytes) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $four)))

    ;; The last n % 4 vectors, one per pass, summed in the same order as above so a vector scores
    ;; the same wherever it sits (ties between equal vectors stay ties).
    (block $done
      (loop $one
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $b0 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (loop $lane1
          (local.set $p (i32.add (local.get $v) (local.get $j)))
          (local.set $a0 (f32x4.add (local.get $a0)
            (f32x4.mul (v128.load (local.get $p)) (v128.load (i32.add (local.get $q) (local.get $j))))))
          (local.set $b0 (f32x4.add (local.get $b0)
            (f32x4.mul (v128.load offset=16 (local.get $p)) (v128.load offset=16 (i32.add (local.get $q) (local.get $j))))))
          (br_if $lane1 (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 32))) (local.get $bytes))))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $b0)))
        (f32.store (local.get $out) (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 2 (local.get $a0)))
          (f32.add (f32x4.extract_lane 1 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $v (i32.add (local.get $v) (local.get $bytes)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $one)))))
