# zoolens: two commands set up and run everything on a fresh machine.
#   make demo   - the main job on the shipped mini zoo
#   make test   - setup, then the whole test suite (all that needs no ImageNet and no network)
#   make test-quick - the suite without `slow` and `ray` tests (under 2 minutes on 2 cores)
#   make lint   - the import layers and the absence of import cycles (import-linter; part of both test targets)
#   make lock   - recompile requirements.lock (every pin with its sha256) from pyproject.toml's ranges;
#                 keeps current pins where they still fit, `make lock UPGRADE=1` takes the newest
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.zoolens-installed
LOCK   := requirements.lock
FMNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: setup test test-quick lint lock demo data clean bench

setup: $(STAMP) data

# Every package at the version and sha256 of the lock (pip's hash-checking mode; torch's pinned
# build comes from this machine's disk with PyPI's hash), then zoolens itself, editable, with no
# further resolution. pyproject.toml keeps the compatible ranges for library users. Byte-compiling
# is done once, on both cores, after pip (--no-compile) instead of file by file inside it: the
# machines set PYTHONDONTWRITEBYTECODE=1, so nothing left uncompiled would ever be cached, and
# every test subprocess would recompile torch (measured: install 2 min 6 s + compile 52 s,
# against 3 min 41 s; `compileall` exits 1 on the few vendored files that do not compile, as pip ignores).
# Packages' own test folders (a fifth of the bytes: pandas/tests, sympy, scipy, ...) are never imported: skipped.
$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found -- install Python 3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --no-compile --disable-pip-version-check -r $(LOCK)
	$(PIP) install -q --no-compile --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib >/dev/null || true
	touch $(STAMP)

# Recompile the lock from pyproject.toml (runtime + dev + ray), for Python 3.11 on Linux x86_64,
# the platform of the developer machines and CI. Takes ~10 min: pip-tools hashes every file.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check pip-tools
	$(VENV)/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) --generate-hashes --allow-unsafe --strip-extras --extra dev --extra ray \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml
	@echo "$(LOCK): $$(grep -c '^[A-Za-z0-9]' $(LOCK)) packages pinned with hashes"

# Debian's dataset-fashion-mnist, when missing and apt is usable (root); otherwise say how.
data:
	@if [ -f $(FMNIST) ] || [ -n "$$ZOOLENS_DATA_DIR" ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null)) && \
	  echo "installed dataset-fashion-mnist"; \
	else echo "note: Fashion-MNIST missing; run 'apt-get install dataset-fashion-mnist' or set ZOOLENS_DATA_DIR"; fi
	@# Debian's chromium for the report render test, when missing and apt is usable (root); otherwise say how.
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) && \
	  echo "installed chromium"; \
	else echo "note: chromium missing (the report render test will be skipped); run 'apt-get install chromium'"; fi

# `imagenet` tests need the ImageNet val folder and the paper zoos (run them by file, see docs/reproduce.md);
# `network` tests would download.
test: setup lint
	$(PY) -m pytest -q -m "not imagenet and not network" --durations=25

test-quick: setup lint
	$(PY) -m pytest -q -m "not slow and not ray and not imagenet and not network"

# The layers of docs/architecture.md and no import cycles, declared in pyproject.toml.
lint: setup
	$(VENV)/bin/lint-imports

demo: setup
	@if $(VENV)/bin/zoolens demo --help >/dev/null 2>&1; then $(VENV)/bin/zoolens demo; else echo "zoolens demo is not built yet; available commands:"; $(VENV)/bin/zoolens --help; fi

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
