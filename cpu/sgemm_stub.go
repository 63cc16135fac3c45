package cpu

// sgemm computes c = alpha*op(a)*op(b) + beta*c for row-major operands with leading
// dimensions: op(a) is m×kk (a stored kk×m when transA), op(b) is kk×n (b stored n×kk
// when transB), c is m×n; element (i, j) of a stored matrix x with leading dimension ldx
// is x[i*ldx+j]. With beta == 0, c is not read.
//
// This is a simple stand-in (row-by-row, i-k-j order, one goroutine) so that the
// backend runs while the blocked, packed kernel is written; it goes when sgemm.go lands.
func (k *kernels) sgemm(transA, transB bool, m, n, kk int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
		if transB {
			// c[i,j] += alpha * dot(op(a)[i,:], b[j,:])
			for j := range ci {
				bj := b[j*ldb : j*ldb+kk]
				var s float32
				for p, bv := range bj {
					if transA {
						s += a[p*lda+i] * bv
					} else {
						s += a[i*lda+p] * bv
					}
				}
				ci[j] += alpha * s
			}
			continue
		}
		// c[i,:] += alpha*op(a)[i,p] * b[p,:]
		for p := range kk {
			var aip float32
			if transA {
				aip = a[p*lda+i]
			} else {
				aip = a[i*lda+p]
			}
			aip *= alpha
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += aip * bv
			}
		}
	}
}
