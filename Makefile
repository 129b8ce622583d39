# The two commands: `make demo` and `make test`. Both install what they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := qemu-user lld llvm gcc-aarch64-linux-gnu libc6-dev-arm64-cross valgrind \
                   pocl-opencl-icd ocl-icd-libopencl1

.PHONY: demo test lint ruff pyright pytest lit install system-packages clean

install: $(STAMP)

$(STAMP): pyproject.toml examples/lamina-ort-backend/pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	mkdir -p $(VENV)/src && ln -sfn $(CURDIR) $(VENV)/src/lamina
	# the example backend plugin (docs/plugins.md), which tests/test_plugins.py runs
	$(PY) -m pip install --quiet --no-deps -e examples/lamina-ort-backend
	touch $(STAMP)

# Debian packages for the emulated and OpenCL targets; installed only when run as root.
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(DEBIAN_PACKAGES); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "not root: skipping Debian packages ($(DEBIAN_PACKAGES))"; fi

demo: $(STAMP)
	$(PY) -m lamina.tools.demo

lint: ruff pyright

ruff: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

pyright: $(STAMP)
	$(VENV)/bin/pyright

pytest: $(STAMP)
	$(VENV)/bin/pytest -q -n 2 tests

lit: $(STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/lit -sv filecheck_tests

# ruff first (a second); pyright, which keeps one core busy for ~40 s, then type-checks
# beside pytest (-n 2) instead of before it with the other core idle; lit last.
test: ruff
	@$(MAKE) --no-print-directory -j2 --output-sync=line pyright pytest
	@$(MAKE) --no-print-directory lit

clean:
	rm -rf $(VENV) build *.egg-info
