package cpu

// NewWithVector is New with the vector primitives forced to the named variant ("avx512",
// "avx2", "go"), so that the conformance suite runs every variant this machine has.
func NewWithVector(opts Options, name string) (*Backend, error) {
	v, err := vecVariantNamed(name)
	if err != nil {
		return nil, err
	}
	b := New(opts)
	b.kernels.vec = v
	return b, nil
}

// VectorVariants names the vector variants this machine runs, fastest first.
func VectorVariants() []string {
	var names []string
	for _, v := range vecAvailable {
		names = append(names, v.name)
	}
	return names
}
