# Two set-up commands: `make run` (the service on the embedded default, with the sandbox) and
# `make test` (the whole suite).  Both create .venv and install into it first.
# HERE: the checkout (``make -f path/to/Makefile run`` from another directory serves with var/ there).
HERE := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV ?= $(if $(filter $(HERE),$(CURDIR)),.venv,$(HERE)/.venv)
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python $(HERE)/setup.cfg
	$(BIN)/pip install --quiet -e $(HERE)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '$(HERE)[dev]'
	touch $@

run: $(VENV)/.installed
	WX_SERVICE_BASE_URL=http://$(HOST):$(PORT) $(BIN)/flask --app wx_service dev --host $(HOST) --port $(PORT)

# Debian packages the browser, media and deployment tests need, installed when missing: chromium (headless
# browser tests), ffmpeg (voice notes to MP3), fonts-noto-cjk (Chinese text in screenshots), nginx-light
# (`nginx -t` of deploy/nginx.conf.example; no server is started).  apt waits up to
# 10 minutes for the dpkg lock (another apt run, unattended-upgrades) instead of failing.
APT_LOCK_WAIT ?= 600
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -z "$$missing" ]; then echo "system-deps: chromium, ffmpeg, fonts-noto-cjk and nginx are installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "system-deps: installing$$missing (for the browser, media and proxy-config tests; waits for the dpkg lock)"; \
	  apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_WAIT) update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_WAIT) install -y -qq$$missing; \
	else echo "system-deps: please install$$missing (sudo apt-get install$$missing)"; exit 1; \
	fi

test: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
