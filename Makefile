# pyvirt: `make demo` and `make test` work on a fresh Debian 12 machine.
# As root they install the Debian packages the tests use (libvirt 9.0 as the reference peer,
# QEMU, ...); the Python side lives in .venv, built on Debian's python3 so that Debian's
# python3-libvirt (the reference client) is importable next to pyvirt.

PYTHON ?= /usr/bin/python3
VENV := .venv
VPY := $(VENV)/bin/python
DEB_PACKAGES := python3 python3-venv python3-pip python3-libvirt libvirt-clients libvirt-daemon \
	libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils openssh-server openssh-client \
	netcat-openbsd iproute2 busybox-static cpio xz-utils gzip procps util-linux openssl dmidecode
PYTEST_ARGS ?=

.PHONY: all demo test deps-system venv lint typecheck bench clean

all: venv

deps-system:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:" $$missing; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "missing Debian packages (run as root or install them): $$missing" >&2; \
		fi; \
	fi

$(VPY): pyproject.toml
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $(VPY)

venv: $(VPY)

demo: deps-system venv
	$(VPY) -m pyvirt.demo

test: deps-system venv
	$(VPY) -m mypy pyvirt
	$(VPY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

typecheck: venv
	$(VPY) -m mypy pyvirt

bench: deps-system venv
	$(VPY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache
