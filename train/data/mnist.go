package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package installs the
// Fashion-MNIST files (apt install dataset-fashion-mnist).
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// The base names of the four files of an MNIST-shaped data set; each may also carry a
// ".gz" suffix.
const (
	trainImagesFile = "train-images-idx3-ubyte"
	trainLabelsFile = "train-labels-idx1-ubyte"
	testImagesFile  = "t10k-images-idx3-ubyte"
	testLabelsFile  = "t10k-labels-idx1-ubyte"
)

// mnistClasses is the number of classes of MNIST and Fashion-MNIST.
const mnistClasses = 10

// Split is one part (train, test, validation) of a data set, kept as raw bytes.
type Split struct {
	// Images holds N images of H×W pixels, (N, H, W) row-major: pixel (y, x) of image i
	// is Images[(i*H+y)*W+x].
	Images []uint8
	// Labels holds the N class indices, each in [0, Classes) of the Dataset.
	Labels []uint8
	// N is the number of examples, H and W the image height and width.
	N, H, W int
}

// Dataset is a labelled image data set: a training and a test split of images of the
// same size, and the number of classes the labels range over.
type Dataset struct {
	// Name is "mnist" or "fashion-mnist".
	Name string
	// Train and Test are the splits of the distribution's training and test files.
	Train, Test Split
	// Classes is the number of classes; every label is below it.
	Classes int
}

// LoadMNIST reads the MNIST data set from dir: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw
// or gzipped (a ".gz" suffix). Where both forms exist the raw file is read. The result has
// Name "mnist", Classes 10, and images of the size the files give (28×28 for MNIST).
//
// Errors, each starting "data: mnist: ", report: files missing (all of them, with the
// names looked for); any ReadIDX error; an image file that is not 3-D or a label file
// that is not 1-D (with the dims found); a split with no images or empty images; image
// and label counts that differ ("train: 60000 images but 59999 labels"); train and test
// images of different sizes; and the first label of a split that is 10 or more, with its
// index and value.
func LoadMNIST(dir string) (*Dataset, error) {
	return loadMNISTShaped(dir, "mnist", "the repository's `make data` copies MNIST to data/mnist")
}

// LoadFashionMNIST reads Fashion-MNIST from dir, which holds the same four files as an
// MNIST directory (see LoadMNIST; DefaultFashionMNISTDir is where Debian installs them).
// The result has Name "fashion-mnist" and Classes 10; the errors are LoadMNIST's with the
// prefix "data: fashion-mnist: ".
func LoadFashionMNIST(dir string) (*Dataset, error) {
	return loadMNISTShaped(dir, "fashion-mnist", "`apt install dataset-fashion-mnist` installs it in "+DefaultFashionMNISTDir)
}

// loadMNISTShaped reads and checks the four files of an MNIST-shaped data set; name
// prefixes the errors and hint follows a "files missing" error.
func loadMNISTShaped(dir, name, hint string) (*Dataset, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: %s: "+format, append([]any{name}, args...)...)
	}
	bases := []string{trainImagesFile, trainLabelsFile, testImagesFile, testLabelsFile}
	paths := make([]string, len(bases))
	var missing []string
	for i, base := range bases {
		path, err := findRawOrGzip(filepath.Join(dir, base))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, base+"[.gz]")
		case err != nil:
			return nil, fail("%w", err)
		}
		paths[i] = path
	}
	if len(missing) > 0 {
		return nil, fail("in directory %s: missing %s (%s)", dir, strings.Join(missing, ", "), hint)
	}

	// The four files decode independently; the train images dominate (47 MB after gunzip).
	files := make([]*IDX, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Go(func() { files[i], errs[i] = ReadIDX(path) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fail("%w", err)
		}
	}

	train, err := mnistSplit("train", files[0], files[1])
	if err != nil {
		return nil, fail("%w", err)
	}
	test, err := mnistSplit("test", files[2], files[3])
	if err != nil {
		return nil, fail("%w", err)
	}
	if train.H != test.H || train.W != test.W {
		return nil, fail("train images are %d×%d but test images are %d×%d", train.H, train.W, test.H, test.W)
	}
	for _, s := range []struct {
		split  string
		labels *IDX
	}{{"train", files[1]}, {"test", files[3]}} {
		for i, l := range s.labels.Data {
			if l >= mnistClasses {
				return nil, fail("%s: file %s: label %d is %d, want 0..%d", s.split, s.labels.Name, i, l, mnistClasses-1)
			}
		}
	}
	return &Dataset{Name: name, Train: train, Test: test, Classes: mnistClasses}, nil
}

// findRawOrGzip returns base if it exists, else base+".gz" if that exists, else an error
// wrapping fs.ErrNotExist. Other stat errors (permissions) are returned as they are.
func findRawOrGzip(base string) (string, error) {
	for _, path := range []string{base, base + ".gz"} {
		_, err := os.Stat(path)
		if err == nil {
			return path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fs.ErrNotExist
}

// mnistSplit checks that images is (N, H, W) and labels (N) with N, H, W > 0 and makes a
// Split sharing their data. The label values are checked by the caller.
func mnistSplit(split string, images, labels *IDX) (Split, error) {
	if len(images.Dims) != 3 {
		return Split{}, fmt.Errorf("%s: file %s: images must be 3-D (N, H, W), got dims %v", split, images.Name, images.Dims)
	}
	if len(labels.Dims) != 1 {
		return Split{}, fmt.Errorf("%s: file %s: labels must be 1-D (N), got dims %v", split, labels.Name, labels.Dims)
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if n == 0 || h == 0 || w == 0 {
		return Split{}, fmt.Errorf("%s: file %s: no images (dims %v)", split, images.Name, images.Dims)
	}
	if labels.Dims[0] != n {
		return Split{}, fmt.Errorf("%s: %d images but %d labels (files %s, %s)", split, n, labels.Dims[0], images.Name, labels.Name)
	}
	return Split{Images: images.Data, Labels: labels.Data, N: n, H: h, W: w}, nil
}
