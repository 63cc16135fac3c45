//go:build amd64 && !noasm

package cpu

import (
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

// unfoldArgs is one image's unfolding for the assembly of conv_avx512_amd64.s (its
// field offsets are the UA_ constants there).
type unfoldArgs struct {
	c, h, w, kh, kw, ph, pw, oh, ow, sh int
	shw4, hw4, ld4                      int     // StrideH*W, H*W and ld, in bytes
	lo, hi                              uintptr // im2col: whole vectors may start in [lo, hi]
	acc                                 uintptr // col2im: the accumulator plane
	nq, accRow, accStep                 int     // its chunks of 16 per row, row and StrideH rows in bytes
}

// vectorBounds returns the first and the last address at which a whole vector (16
// float32) lies inside s (hi < lo when s is shorter than a vector).
func vectorBounds(s []float32) (lo, hi uintptr) {
	lo = uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return lo, lo + uintptr(4*len(s)) - 64
}

func newUnfoldArgs(g *device.ConvGeom, ld int) unfoldArgs {
	return unfoldArgs{c: g.C, h: g.H, w: g.W, kh: g.KH, kw: g.KW, ph: g.PadH, pw: g.PadW, oh: g.OutH(), ow: g.OutW(),
		sh: g.StrideH, shw4: 4 * g.StrideH * g.W, hw4: 4 * g.H * g.W, ld4: 4 * ld}
}

//go:noescape
func im2colS1AVX512(x, col *float32, a *unfoldArgs)

//go:noescape
func col2imS1AVX512(col, dx *float32, a *unfoldArgs, masks *uint16)

// col2imMaxMasks bounds the lane-mask table of col2imS1AVX512: ⌈W/16⌉·(KW+1) entries.
const col2imMaxMasks = 256

// im2colAVX512 is vecVariant.im2col: the assembly for StrideW = 1, im2colGo otherwise.
func im2colAVX512(x, col []float32, ld int, g *device.ConvGeom) {
	if g.StrideW != 1 {
		im2colGo(x, col, ld, g)
		return
	}
	_ = x[g.C*g.H*g.W-1]
	_ = col[(g.ColRows()-1)*ld+g.OutH()*g.OutW()-1]
	a := newUnfoldArgs(g, ld)
	a.lo, a.hi = vectorBounds(x[:cap(x)]) // reading past x, inside its array, is safe
	im2colS1AVX512(&x[0], &col[0], &a)
}

// col2imAVX512 is vecVariant.col2im: the assembly for StrideW = 1 (with its accumulator
// plane in work), col2imGo otherwise.
func col2imAVX512(col []float32, ld int, dx []float32, g *device.ConvGeom, work []float32) {
	chunks := (g.W + 15) / 16
	if g.StrideW != 1 || chunks*(g.KW+1) > col2imMaxMasks || g.H*chunks*16+16 > len(work) {
		col2imGo(col, ld, dx, g, nil)
		return
	}
	_ = col[(g.ColRows()-1)*ld+g.OutH()*g.OutW()-1]
	_ = dx[g.C*g.H*g.W-1]
	// Per chunk of 16 dx columns x: the lanes inside the row, then per tap column kw
	// those whose col column x+PW-kw is an output column.
	var masks [col2imMaxMasks]uint16
	ow := g.OutW()
	k := 0
	for x0 := 0; x0 < g.W; x0 += 16 {
		for kw := -1; kw < g.KW; kw++ {
			var m uint16
			for t := range 16 {
				x := x0 + t
				if j := x + g.PadW - kw; x < g.W && (kw < 0 || j >= 0 && j < ow) {
					m |= 1 << t
				}
			}
			masks[k] = m
			k++
		}
	}
	a := newUnfoldArgs(g, ld)
	a.acc = uintptr(unsafe.Pointer(&work[0]))
	a.acc += (64 - a.acc%64) % 64 // work holds 16 floats more than the plane
	a.nq, a.accRow = chunks, 64*chunks
	a.accStep = g.StrideH * a.accRow
	col2imS1AVX512(&col[0], &dx[0], &a, &masks[0])
}

//go:noescape
func convTileAVX512(k int, rows *uintptr, idx *int32, b, c *float32, ldc int, accumulate bool, mr int, mask uint32, bias *float32, np int)

// convTileAVX512Slices is sgemmVariant.convTile on convTileAVX512.
func convTileAVX512Slices(k int, rows *[convTileRows]uintptr, idx []int32, b, c []float32, ldc int, accumulate bool, mr, np, nr int, bias []float32) {
	cols := 32*(np-1) + nr
	_ = idx[k-1]
	_ = b[32*k*np-1]
	_ = c[(mr-1)*ldc+cols-1]
	var bp *float32
	if bias != nil {
		bp = &bias[:cols][0]
	}
	convTileAVX512(k, &rows[0], &idx[0], &b[0], &c[0], ldc, accumulate, mr, uint32(1)<<nr-1, bp, np)
}

// filterRowsArgs are convFilterRowsAVX512's sizes (offsets FR_ in its file; strides in
// bytes).
type filterRowsArgs struct {
	oh, chunks, kw, dyF, dyRow, xRow, dwF int
	tail                                  uint64
}

//go:noescape
func convFilterRowsAVX512(dy, x, dw *float32, a *filterRowsArgs)

// filterRowsAVX512 is vecVariant.filterRows on convFilterRowsAVX512.
func filterRowsAVX512(dy, x, dw []float32, oh, ow, kw, dyF, xRow, dwF int) {
	_ = dy[3*dyF+oh*ow-1]
	_ = x[(oh-1)*xRow+16*((ow+15)/16)+kw-2] // whole vectors, past the row in the last chunk
	_ = dw[3*dwF+kw-1]
	a := filterRowsArgs{oh: oh, chunks: (ow + 15) / 16, kw: kw, dyF: 4 * dyF, dyRow: 4 * ow, xRow: 4 * xRow, dwF: 4 * dwF,
		tail: 1<<(ow-16*((ow-1)/16)) - 1}
	convFilterRowsAVX512(&dy[0], &x[0], &dw[0], &a)
}
