package device

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
// a counter-based generator. The CUDA kernels (kernels/random.cu) implement the same
// rounds; the conformance suite checks that both give identical dropout masks.

const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// PhiloxBlock returns the four 32-bit words of Philox4x32-10 for the 128-bit counter
// (low 32 bits of counter, high 32 bits of counter, 0, 0) under the key (low and high 32
// bits of seed).
func PhiloxBlock(seed, counter uint64) [4]uint32 {
	return Philox4x32([4]uint32{uint32(counter), uint32(counter >> 32), 0, 0},
		[2]uint32{uint32(seed), uint32(seed >> 32)})
}

// Philox4x32 is the generator's full form: ten rounds over ctr under key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 {
			key[0] += philoxW0
			key[1] += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0],
			uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1],
			uint32(p0),
		}
	}
	return ctr
}

// PhiloxUint32 is the draw for element i of a stream starting at offset: word i%4 of the
// block at counter offset + i/4. A call drawing n elements uses ceil(n/4) counters, so
// the next independent call starts at offset + PhiloxBlocks(n).
func PhiloxUint32(seed, offset uint64, i int) uint32 {
	return PhiloxBlock(seed, offset+uint64(i/4))[i%4]
}

// PhiloxBlocks is the number of counters a draw of n elements consumes: ceil(n/4).
func PhiloxBlocks(n int) uint64 { return uint64((n + 3) / 4) }

// DropThreshold is the integer threshold of DropoutMask: an element is kept when the top
// 24 bits of its draw are >= DropThreshold(rate), which happens with probability 1-rate
// (to 2^-24). Integer comparison keeps masks identical across backends.
func DropThreshold(rate float32) uint32 {
	return uint32(float64(rate) * (1 << 24))
}

// DropScale is the value DropoutMask writes for kept elements: 1/(1-rate) in float32.
func DropScale(rate float32) float32 {
	return float32(1 / (1 - float64(rate)))
}
