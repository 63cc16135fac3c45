package cpu

// sgemmKernelGo is the portable 4×4 micro-kernel (see sgemmKernelFunc): for each of
// the np tiles, sgemmTileGo.
func sgemmKernelGo(kc int, a []float32, lda int, b []float32, ldb, bstep, np int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	for p := range np {
		cols := 4
		if p == np-1 {
			cols = nr
		}
		sgemmTileGo(kc, a, lda, b[p*bstep:], ldb, c[4*p:], ldc, alpha, beta, mr, cols)
	}
}

// sgemmTileGo computes one tile:
//
//	C[i,j] = alpha * sum_k a[k*lda+i]*b[k*ldb+j] + beta*C[i,j]   (i < mr, j < nr)
//
// reading C only when beta != 0. It runs down k twice, for rows 0-1 and 2-3, so that
// each pass's 8 sums stay in registers (amd64 has 15 for floats in Go code).
func sgemmTileGo(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	var tile [4][4]float32
	tile[0], tile[1] = sgemmDotsGo(kc, a, lda, b, ldb)
	if mr > 2 {
		tile[2], tile[3] = sgemmDotsGo(kc, a[2:], lda, b, ldb)
	}
	for i := range mr {
		row := c[i*ldc : i*ldc+nr]
		t := tile[i][:nr]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * t[j]
			}
			continue
		}
		for j := range row {
			row[j] = alpha*t[j] + beta*row[j]
		}
	}
}

// sgemmDotsGo returns the 2×4 sums r0[j] = sum_k a[k*lda]*b[k*ldb+j] and
// r1[j] = sum_k a[k*lda+1]*b[k*ldb+j].
func sgemmDotsGo(kc int, a []float32, lda int, b []float32, ldb int) (r0, r1 [4]float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	for range kc {
		ak := a[:2:2]
		bk := b[:4:4]
		a0, a1 := ak[0], ak[1]
		b0, b1, b2, b3 := bk[0], bk[1], bk[2], bk[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		if len(a) > lda {
			a = a[lda:]
		}
		if len(b) > ldb {
			b = b[ldb:]
		}
	}
	return [4]float32{c00, c01, c02, c03}, [4]float32{c10, c11, c12, c13}
}
