package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mnistDir = "../../data/mnist"

func TestRunsOnMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("MNIST not found in data/mnist: run `make data`")
	}
	var out bytes.Buffer
	require.NoError(t, run([]string{"-data", mnistDir, "-epochs", "1", "-limit", "500"}, &out))
	assert.Contains(t, out.String(), "epoch 1: loss")
	assert.Contains(t, out.String(), "test accuracy 0.")
}

func TestBadDataFolder(t *testing.T) {
	err := run([]string{"-data", t.TempDir()}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "data: mnist: in directory")
}
