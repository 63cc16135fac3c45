package cpu

import "github.com/gputrain/gputrain/device"

// Gemm implements device.Backend: C = Alpha*op(A)*op(B) + Beta*C for each of the
// g.Batches() products, the i-th on A[i*StrideA:], B[i*StrideB:] and C[i*StrideC:].
// op(A) is M×K (A stored K×M when TransA), op(B) is K×N (B stored N×K when TransB), C is
// M×N; with Beta == 0, C is not read. Then the epilogue, if any: C[i,j] += Bias[j], then
// C = Act(C), applied to each block of C as soon as it is final. In another precision
// than FP32 the operands are first rounded to its format (precision.go). Errors: those
// of device.CheckGemm, or a buffer of another backend.
func (b *Backend) Gemm(g device.GemmArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckGemm(g); err != nil {
		return err
	}
	if err := own(g.A, g.B, g.C, g.Bias); err != nil {
		return err
	}
	a, bm, c := f32(g.A), f32(g.B), f32(g.C)
	if g.Precision != device.FP32 {
		// round (or widen) the operands, then the float32 GEMM: see precision.go
		s := &b.kernels.prec
		a = s.operand(&s.a, g.Precision, g.A, (g.Batches()-1)*g.StrideA+g.M*g.K)
		bm = s.operand(&s.b, g.Precision, g.B, (g.Batches()-1)*g.StrideB+g.K*g.N)
	}
	lda, ldb := g.K, g.N // row lengths of A and B as stored
	if g.TransA {
		lda = g.M
	}
	if g.TransB {
		ldb = g.K
	}
	ep := sgemmEpilogue{vec: b.kernels.vec, bias: f32(g.Bias), actOn: g.ActOn, act: g.Act, p: g.ActParam}
	// Many small products (attention's per-head GEMMs) are spread over the threads, one
	// product per thread at a time; larger ones run one after the other, each split.
	if !b.reference && b.kernels.sgemmBatch(g.Batches(), g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, a, lda, g.StrideA,
		bm, ldb, g.StrideB, g.Beta, c, g.N, g.StrideC) {
		return nil
	}
	for i := range g.Batches() {
		ai, bi, ci := a[i*g.StrideA:], bm[i*g.StrideB:], c[i*g.StrideC:]
		if b.reference {
			gemmRef(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, ai, bi, g.Beta, ci)
			epilogueRef(ci[:g.M*g.N], g.M, g.N, ep)
			continue
		}
		b.kernels.sgemmWith(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, ai, lda, bi, ldb, g.Beta, ci, g.N, ep)
	}
	return nil
}

// epilogueRef is the reference epilogue on c (m×n): c[i,j] += bias[j], then c = act(c),
// the reference Broadcast and Unary in turn.
func epilogueRef(c []float32, m, n int, ep sgemmEpilogue) {
	if ep.bias != nil {
		broadcastRef(device.Add, c, ep.bias, c, device.Shape3{Outer: m, Mid: n, Inner: 1})
	}
	if ep.actOn {
		unaryForwardRef(ep.act, c, c, ep.p)
	}
}

// gemmRef is the reference GEMM, one product, sums in float64:
//
//	c (m×n) = alpha * op(a) (m×kk) * op(b) (kk×n) + beta * c
//
// a is stored m×kk, or kk×m when transA; b is stored kk×n, or n×kk when transB. With
// beta == 0, c is only written.
func gemmRef(transA, transB bool, m, n, kk int, alpha float32, a, b []float32, beta float32, c []float32) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range kk {
				var aip, bpj float32 // op(a)[i,p], op(b)[p,j]
				if transA {
					aip = a[p*m+i]
				} else {
					aip = a[i*kk+p]
				}
				if transB {
					bpj = b[j*kk+p]
				} else {
					bpj = b[p*n+j]
				}
				s += float64(aip) * float64(bpj)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*n+j])
			}
			c[i*n+j] = float32(r)
		}
	}
}
