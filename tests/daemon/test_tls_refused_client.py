"""A pyvirt client whose TLS certificate the daemon refuses gets libvirt's error, nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pyvirt import constants as c
from pyvirt.daemon.certs import main as certs_main

from .test_tls import _pki, _tls_daemon

OPEN = """
import sys
import pyvirt.libvirt as lv
try:
    lv.open(sys.argv[1])
except lv.libvirtError as exc:
    print(exc.get_error_code(), exc.get_error_domain(), exc)
    sys.exit(3)
print("opened")
"""


def test_refused_dn_gives_only_the_libvirt_error(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    for f in ("cacert.pem", "cakey.pem"):
        shutil.copy(pki / f, other / f)
    assert certs_main(["--dir", str(other), "client", "--client-cn", "intruder"]) == 0
    d = _tls_daemon(tmp_path, pki, tls_allowed_dn_list=["*CN=client"])
    try:
        runs = [subprocess.run([sys.executable, "-c", OPEN,
                                f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={other}"],
                               capture_output=True, text=True, timeout=60) for _ in range(3)]
    finally:
        d.stop()
    for r in runs:
        assert r.returncode == 3, (r.stdout, r.stderr)
        # libvirt's client: VIR_ERR_RPC from VIR_FROM_RPC
        assert r.stdout == f"{c.VIR_ERR_RPC} {c.VIR_FROM_RPC} server verification (of our " \
            "certificate or IP address) failed\n"
        assert "Traceback" not in r.stderr
        assert "event handler failed" not in r.stderr
        assert "_close_cb" not in r.stderr
