package comm

import (
	"bytes"
	"fmt"
)

// Agree checks that every rank holds the same value of one setting (the model, a flag,
// the data set's size) before training starts; what names it in the error. It returns the
// same error on every rank, naming rank 0's value and the first rank that differs:
//
//	comm: ranks disagree on the batch size: rank 0 has "32", rank 2 has "64"
//
// so that every rank can print one line and exit with the same status. It is a
// collective: every rank calls it with the same what, in the same order.
func Agree(c Comm, what, value string) error {
	all, err := c.AllGather([]byte(value))
	if err != nil {
		return fmt.Errorf("comm: checking %s across ranks: %w", what, err)
	}
	if len(all) != c.Size() {
		return fmt.Errorf("comm: checking %s across ranks: got %d values from %d ranks", what, len(all), c.Size())
	}
	for r := 1; r < len(all); r++ {
		if !bytes.Equal(all[r], all[0]) {
			return fmt.Errorf("comm: ranks disagree on %s: rank 0 has %q, rank %d has %q", what, all[0], r, all[r])
		}
	}
	return nil
}
