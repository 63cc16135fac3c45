package comm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrDisagree is wrapped by the errors of Agree and AgreeAll that report ranks holding
// different values (and not by their other errors, such as a failed all-gather).
var ErrDisagree = errors.New("comm: ranks disagree")

// disagree is an error wrapping ErrDisagree, with its own message.
func disagree(format string, args ...any) error {
	return disagreement{fmt.Sprintf(format, args...)}
}

type disagreement struct{ msg string }

func (e disagreement) Error() string { return e.msg }
func (e disagreement) Unwrap() error { return ErrDisagree }

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
			return disagree("comm: ranks disagree on %s: rank 0 has %q, rank %d has %q", what, all[0], r, all[r])
		}
	}
	return nil
}

// AgreeAll is Agree for several settings in one all-gather: whats[i] names values[i].
// The error, the same on every rank, names the first setting (in the order given) on
// which a rank differs from rank 0, in Agree's words.
func AgreeAll(c Comm, whats, values []string) error {
	if len(whats) != len(values) {
		return fmt.Errorf("comm: AgreeAll: %d names for %d values", len(whats), len(values))
	}
	b, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("comm: AgreeAll: %w", err)
	}
	all, err := c.AllGather(b)
	if err != nil {
		return fmt.Errorf("comm: checking %s across ranks: %w", strings.Join(whats, ", "), err)
	}
	vals := make([][]string, len(all))
	for r, p := range all {
		if err := json.Unmarshal(p, &vals[r]); err != nil {
			return fmt.Errorf("comm: checking settings across ranks: rank %d sent %d bytes that are not a list of values: %w", r, len(p), err)
		}
	}
	for i, what := range whats {
		for r := 1; r < len(vals); r++ {
			if i >= len(vals[r]) || i >= len(vals[0]) {
				return disagree("comm: ranks disagree on the settings they check: rank 0 checks %d, rank %d checks %d", len(vals[0]), r, len(vals[r]))
			}
			if vals[r][i] != vals[0][i] {
				return disagree("comm: ranks disagree on %s: rank 0 has %q, rank %d has %q", what, vals[0][i], r, vals[r][i])
			}
		}
	}
	for r := 1; r < len(vals); r++ {
		if len(vals[r]) != len(vals[0]) {
			return disagree("comm: ranks disagree on the settings they check: rank 0 checks %d, rank %d checks %d", len(vals[0]), r, len(vals[r]))
		}
	}
	return nil
}
