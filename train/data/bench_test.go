package data

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadMNIST times LoadMNIST on the real MNIST (which decodes its four files
// concurrently) against reading the same four files one after another with ReadIDX, the
// sequential reference.
func BenchmarkLoadMNIST(b *testing.B) {
	if _, err := os.Stat(realMNISTDir); err != nil {
		b.Skipf("real MNIST not found in %s: run `make data`", realMNISTDir)
	}
	b.Run("LoadMNIST", func(b *testing.B) {
		for b.Loop() {
			if _, err := LoadMNIST(realMNISTDir); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sequential-ReadIDX", func(b *testing.B) {
		for b.Loop() {
			for _, base := range []string{trainImagesFile, trainLabelsFile, testImagesFile, testLabelsFile} {
				path, err := findRawOrGzip(filepath.Join(realMNISTDir, base))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ReadIDX(path); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
