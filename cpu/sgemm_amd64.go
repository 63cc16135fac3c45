//go:build amd64 && !noasm

package cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The amd64 micro-kernels, in sgemm_avx512_amd64.s and sgemm_avx2_amd64.s.

// sgemmKernelAVX512 is the 12×32 AVX-512 micro-kernel: 24 zmm accumulators (12 rows of
// two 16-float vectors). It computes np tiles (B panels bstep elements apart, C tiles 32
// columns apart), storing the mr rows (1..12) of each and, in the last, the lanes of
// `mask` (bit j set: column j of the tile exists).
//
//go:noescape
func sgemmKernelAVX512(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, np, bstep int)

// sgemmKernelAVX512x8 is the 8×32 AVX-512 micro-kernel (16 accumulators), otherwise as
// sgemmKernelAVX512.
//
//go:noescape
func sgemmKernelAVX512x8(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, np, bstep int)

// sgemmKernelAVX2 is the 6×16 AVX2+FMA micro-kernel: 12 ymm accumulators (6 rows of two
// 8-float vectors). It stores the mr rows (1..6) of the tile under the 16 int32 lane
// masks at mask (all ones: the column exists).
//
//go:noescape
func sgemmKernelAVX2(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask *int32)

// sgemmDotAVX512 is the 3×8 inner-product kernel for A·Bᵀ with A and B stored along k,
// see sgemm_avx512_amd64.s: C rows (mr of them, from c, ldc apart) get alpha*A_i·B_j +
// beta*C (+ bias[j]) (max 0 when relu) in the columns of mask; a0..a2 are rows of A, b
// the first of 8 rows of B (ldb apart), kc long.
//
//go:noescape
func sgemmDotAVX512(kc int, a0, a1, a2 *float32, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, bias *float32, relu bool)

// sgemmDotAVX512Tile is the sgemmVariant.dot of AVX-512 (see sgemmDotFunc). The slice
// expressions check that the kernel's reads and writes stay inside the operands.
func sgemmDotAVX512Tile(kc int, a0, a1, a2, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, bias []float32, relu bool) {
	_, _, _ = a0[kc-1], a1[kc-1], a2[kc-1]
	_ = b[7*ldb+kc-1]
	_ = c[(mr-1)*ldc+nr-1]
	var bp *float32
	if bias != nil {
		_ = bias[nr-1]
		bp = &bias[0]
	}
	sgemmDotAVX512(kc, &a0[0], &a1[0], &a2[0], &b[0], ldb, &c[0], ldc, alpha, beta, mr, uint32(1)<<nr-1, bp, relu)
}

// sgemmMaskAVX2 holds 16 all-ones lanes then 16 zero lanes: &sgemmMaskAVX2[16-nr] is the
// store mask of a tile with nr columns.
var sgemmMaskAVX2 = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// sgemmAVX512 is the sgemmKernelFunc of the 12×32 kernel. The slice expressions check
// that the kernel's reads and writes stay inside a, b and c.
func sgemmAVX512(kc int, a []float32, lda int, b []float32, ldb, bstep, np int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	_ = a[(kc-1)*lda+11]
	_ = b[(np-1)*bstep+(kc-1)*ldb+31]
	_ = c[(mr-1)*ldc+(np-1)*32+nr-1]
	sgemmKernelAVX512(kc, unsafe.SliceData(a), lda, unsafe.SliceData(b), ldb, unsafe.SliceData(c), ldc, alpha, beta, mr, uint32(1)<<nr-1, np, bstep)
}

// sgemmAVX512x8 is the sgemmKernelFunc of the 8×32 kernel.
func sgemmAVX512x8(kc int, a []float32, lda int, b []float32, ldb, bstep, np int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	_ = a[(kc-1)*lda+7]
	_ = b[(np-1)*bstep+(kc-1)*ldb+31]
	_ = c[(mr-1)*ldc+(np-1)*32+nr-1]
	sgemmKernelAVX512x8(kc, unsafe.SliceData(a), lda, unsafe.SliceData(b), ldb, unsafe.SliceData(c), ldc, alpha, beta, mr, uint32(1)<<nr-1, np, bstep)
}

// sgemmAVX2 is the sgemmKernelFunc of the 6×16 kernel.
func sgemmAVX2(kc int, a []float32, lda int, b []float32, ldb, bstep, np int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	_ = a[(kc-1)*lda+5]
	_ = b[(np-1)*bstep+(kc-1)*ldb+15]
	_ = c[(mr-1)*ldc+(np-1)*16+nr-1]
	for p := range np {
		cols := 16
		if p == np-1 {
			cols = nr
		}
		sgemmKernelAVX2(kc, unsafe.SliceData(a), lda, &b[p*bstep], ldb, &c[p*16], ldc, alpha, beta, mr, &sgemmMaskAVX2[16-cols])
	}
}

var (
	sgemmAVX512Variant = &sgemmVariant{name: "avx512", mr: 12, nr: 32, kc: 384, mc: 3072, nc: 480, kernel: sgemmAVX512,
		packAN: packANAVX512, packBT: packBTAVX512, packRagged: packRaggedAVX512, transposeOut: transposeOutAVX512,
		dot: sgemmDotAVX512Tile, alt: sgemmAVX512x8Variant, convTile: convTileAVX512Slices}
	sgemmAVX512x8Variant = &sgemmVariant{name: "avx512", mr: 8, nr: 32, kc: 384, mc: 3072, nc: 480, kernel: sgemmAVX512x8,
		packAN: packANAVX512x8, packBT: packBTAVX512, packRagged: packRaggedAVX512,
		transposeOut: transposeOutAVX512, dot: sgemmDotAVX512Tile}
	sgemmAVX2Variant = &sgemmVariant{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 3072, nc: 512, kernel: sgemmAVX2,
		packAN: packANAVX2, packBT: packBTAVX2}
)

func init() {
	if cpu.X86.HasAVX512F {
		sgemmAvailable = append(sgemmAvailable, sgemmAVX512Variant)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		sgemmAvailable = append(sgemmAvailable, sgemmAVX2Variant)
	}
	sgemmAvailable = append(sgemmAvailable, sgemmGo)
}

// sgemmTranspose16AVX512 transposes blocks of 16 columns of a rows×(16*blocks) matrix
// into rows of dst, see sgemm_pack_avx512_amd64.s.
//
//go:noescape
func sgemmTranspose16AVX512(dst *float32, w int, src *float32, ld int, rows, lanes, blocks, tail int)

// packTransposeAVX512 is packTranspose (dst[k*w + r] = src[r*ld + k], zeros in columns
// rows..w-1) with the 16×16 blocks transposed in zmm registers.
func packTransposeAVX512(dst []float32, w int, src []float32, ld, rows, kb int) {
	_ = dst[kb*w-1]
	if rows > 0 {
		_ = src[(rows-1)*ld+kb-1]
	}
	// The last kb%16 columns go through the masked tail block: its loads read only
	// columns that exist.
	blocks, tail := kb/16, kb%16
	for r0 := 0; r0 < w; r0 += 16 {
		nrows := min(max(rows-r0, 0), 16)
		p := unsafe.SliceData(src)
		if nrows > 0 {
			p = &src[r0*ld]
		}
		sgemmTranspose16AVX512(&dst[r0], w, p, ld, nrows, min(16, w-r0), blocks, tail)
	}
}

// packTransposeTail is packTranspose for the columns k0..kb-1 only.
func packTransposeTail(dst []float32, w int, src []float32, ld, rows, k0, kb int) {
	for r := range rows {
		s := src[r*ld+k0 : r*ld+kb]
		for k, x := range s {
			dst[(k0+k)*w+r] = x
		}
	}
	if rows < w {
		for k := k0; k < kb; k++ {
			pad := dst[k*w+rows : k*w+w]
			for j := range pad {
				pad[j] = 0
			}
		}
	}
}

func packANAVX512(dst, a []float32, lda, rows, kb int) {
	packTransposeAVX512(dst, 12, a, lda, rows, kb)
}
func packANAVX512x8(dst, a []float32, lda, rows, kb int) {
	packTransposeAVX512(dst, 8, a, lda, rows, kb)
}
func packBTAVX512(dst, b []float32, ldb, cols, kb int) {
	packTransposeAVX512(dst, 32, b, ldb, cols, kb)
}

// sgemmTranspose8AVX2 transposes blocks of 8 columns of a rows×(8*blocks) matrix into
// rows of dst, see sgemm_pack_avx2_amd64.s.
//
//go:noescape
func sgemmTranspose8AVX2(dst *float32, w int, src *float32, ld int, rows int, mask *int32, blocks int)

// packTransposeAVX2 is packTranspose with the 8×8 blocks transposed in ymm registers.
func packTransposeAVX2(dst []float32, w int, src []float32, ld, rows, kb int) {
	_ = dst[kb*w-1]
	if rows > 0 {
		_ = src[(rows-1)*ld+kb-1]
	}
	blocks := kb / 8
	if blocks > 0 {
		for r0 := 0; r0 < w; r0 += 8 {
			nrows := min(max(rows-r0, 0), 8)
			p := unsafe.SliceData(src)
			if nrows > 0 {
				p = &src[r0*ld]
			}
			sgemmTranspose8AVX2(&dst[r0], w, p, ld, nrows, &sgemmMaskAVX2[16-min(8, w-r0)], blocks)
		}
	}
	if k0 := blocks * 8; k0 < kb {
		packTransposeTail(dst, w, src, ld, rows, k0, kb)
	}
}

func packANAVX2(dst, a []float32, lda, rows, kb int) { packTransposeAVX2(dst, 6, a, lda, rows, kb) }
func packBTAVX2(dst, b []float32, ldb, cols, kb int) { packTransposeAVX2(dst, 16, b, ldb, cols, kb) }

// sgemmPackRaggedAVX512 copies kb rows of width values (row stride ld) into rows of w
// (width <= w <= 32) padded with zeros, see sgemm_pack_avx512_amd64.s.
//
//go:noescape
func sgemmPackRaggedAVX512(dst *float32, w int, src *float32, ld int, width, kb int)

// packRaggedAVX512 is the ragged-panel step of packRows: dst[k*w + j] = src[k*ld + j]
// for j < width, zero up to w.
func packRaggedAVX512(dst []float32, w int, src []float32, ld, width, kb int) {
	_ = dst[(kb-1)*w+w-1]
	_ = src[(kb-1)*ld+width-1]
	sgemmPackRaggedAVX512(unsafe.SliceData(dst), w, unsafe.SliceData(src), ld, width, kb)
}

// transposeOutAVX512 is sgemmVariant.transposeOut: c[j*ldc+i] = src[i*ld+j] for i < rows,
// j < cols, with the 16×16 register transpose storing exactly rows values per row of c.
func transposeOutAVX512(c []float32, ldc int, src []float32, ld, rows, cols int) {
	_ = c[(cols-1)*ldc+rows-1]
	_ = src[(rows-1)*ld+cols-1]
	for r0 := 0; r0 < rows; r0 += 16 {
		n := min(16, rows-r0)
		sgemmTranspose16AVX512(&c[r0], ldc, &src[r0*ld], ld, n, n, cols/16, cols%16)
	}
}
