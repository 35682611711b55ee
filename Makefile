# agq: the two commands a newcomer needs are `make serve` and `make test`.
PORT ?= 8080
# the page's two builds of the wasm module: CPU only (pkg/agq, what every visitor downloads)
# and with WebGPU (pkg/agq_gpu, loaded only where WebGPU is used); the wasm tests use the latter
WASM_CPU = --no-default-features --features web
WASM_GPU = --no-default-features --features webgpu
export WASM_BINDGEN_TEST_TIMEOUT ?= 600

.PHONY: serve build tools python-env test test-core test-native test-python test-wasm test-e2e bench fuzz clean

## Build the page and serve it on http://127.0.0.1:$(PORT) (installs what it needs).
serve: build
	@echo "agq: serving http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	python3 -m http.server $(PORT) --bind 127.0.0.1

## Build the page's two wasm modules into pkg/ with wasm-pack: agq (burn's CPU backend) and
## agq_gpu (with its WebGPU backend too); Cargo profile `web`: WebGPU path optimised for size,
## CPU path for speed; WebAssembly SIMD from .cargo/config.toml; wasm-pack's own wasm-opt off:
## Debian's corrupts the module. Then remove their name sections (scripts/wasm-opt.sh,
## docs/BENCHMARKS.md "wasm size"; WASM_OPT_LEVEL=off skips it).
build: tools
	wasm-pack build --mode no-install --target web --profile web --out-dir pkg --out-name agq_gpu . $(WASM_GPU)
	wasm-pack build --mode no-install --target web --profile web --out-dir pkg --out-name agq . $(WASM_CPU)
	scripts/wasm-opt.sh pkg/agq_gpu_bg.wasm
	scripts/wasm-opt.sh pkg/agq_bg.wasm

tools:
	scripts/install-tools.sh build

## Every test: core, native (burn CPU), the Python module, wasm in headless Chrome and
## Firefox, and the page end to end.
test: test-core test-native test-python test-wasm test-e2e

test-core:
	cargo test --no-default-features --features cli

test-native:
	cargo test --release

## The Python module (python/) built into .tools/py with numpy, pytest and PyTorch.
python-env:
	scripts/python-env.sh

## pytest: the module against the agq command line, the PyTorch helper, DDP on two processes.
test-python: python-env
	cargo build --release --bin agq
	.tools/py/bin/python -m pytest -q python/tests

test-wasm: tools
	scripts/install-tools.sh test
	wasm-pack test --mode no-install --headless --chrome . $(WASM_GPU) --profile web --test web
	wasm-pack test --mode no-install --headless --firefox . $(WASM_GPU) --profile web --test web

test-e2e: build python-env
	scripts/install-tools.sh test
	cargo build --release --bin agq
	cd tests/e2e && npm test

## PTQ + accounting + encoding of 15M parameters: agq (criterion) next to numpy; in headless
## Chromium, LeNet training against TensorFlow.js and the page's start (installs the npm
## peers); one table of ratios in target/bench/summary.json (docs/BENCHMARKS.md).
bench:
	scripts/bench.sh

## The three doors of untrusted input (page link, snapshot reader, .agq decoder), each fed
## FUZZ_INPUTS mutated inputs from FUZZ_SEED; one line per door at the end (docs/FUZZ.md).
## Release build with overflow checks and debug assertions on, in its own target/fuzz.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 1
fuzz:
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
	cargo run --release --no-default-features --target-dir target/fuzz --example fuzz -- \
		--inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED)

clean:
	cargo clean
	rm -rf pkg
