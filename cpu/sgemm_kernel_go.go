package cpu

// sgemmKernelGo is the portable 4×4 micro-kernel (see sgemmKernelFunc): it keeps the 16
// sums of the tile in locals while it runs down k, then
//
//	C[i,j] = alpha * sum_k a[k*lda+i]*b[k*ldb+j] + beta*C[i,j]   (i < mr, j < nr)
//
// reading C only when beta != 0.
func sgemmKernelGo(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:(kc-1)*lda+4]
	b = b[:(kc-1)*ldb+4]
	for k := range kc {
		ak := a[k*lda : k*lda+4 : k*lda+4]
		bk := b[k*ldb : k*ldb+4 : k*ldb+4]
		a0, a1, a2, a3 := ak[0], ak[1], ak[2], ak[3]
		b0, b1, b2, b3 := bk[0], bk[1], bk[2], bk[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	tile := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
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
