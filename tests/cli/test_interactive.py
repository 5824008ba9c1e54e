"""The interactive shell: piped input compared with virsh, and a real terminal via a pty."""
from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirt.cli.interactive import complete_line
from pyvirt.cli.main import main
from pyvirt.cli.shell import Ctl, load_backend

from .harness import DATA, VIRSH, backend

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LIBVIRT_DEFAULT_URI", None)
    if backend() == "libvirt":
        env["PYVIRSH_BACKEND"] = "libvirt"
    else:
        env.pop("PYVIRSH_BACKEND", None)
    return env


@pytest.mark.skipif(VIRSH is None, reason="virsh not installed")
@pytest.mark.parametrize("opts,script", [
    ([], "list\nuri\n"),
    ([], "list --all\nsuspend test\nlist\nquit\nuri\n"),
    ([], "dominfo nosuch\n\nhostname\n"),
    ([], "echo 'a b' c; uri\n"),
    ([], "connect --readonly\nuri\n"),
    ([], "cd /\npwd\ncd /nonexistent-dir\nexit\n"),
    (["-r"], "uri\ndestroy test\n"),
    (["-q"], "list\nuri\n"),
    ([], "foo\nlist --bogus\necho \"unterminated\n"),
])
def test_piped_input_matches_virsh(opts: list[str], script: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert VIRSH is not None
    want = subprocess.run([VIRSH, *opts, "-c", "test:///default"], input=script, text=True,
                          capture_output=True, cwd=DATA, env=dict(os.environ, LC_ALL="C"),
                          timeout=60, check=False)
    for k, v in _env().items():
        monkeypatch.setenv(k, v)
    if "PYVIRSH_BACKEND" not in _env():
        monkeypatch.delenv("PYVIRSH_BACKEND", raising=False)
    monkeypatch.chdir(DATA)  # restores the working directory that "cd" changes
    out, err = io.StringIO(), io.StringIO()
    rc = main(["virsh", *opts, "-c", "test:///default"], stdin=io.StringIO(script), stdout=out,
              stderr=err)
    assert (out.getvalue(), err.getvalue(), rc) == (want.stdout, want.stderr, want.returncode)


def test_completion_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in _env().items():
        monkeypatch.setenv(k, v)
    ctl = Ctl(load_backend(), io.StringIO(), io.StringIO(), "pyvirsh")
    ctl.connname = "test:///default"
    assert "dominfo" in complete_line(ctl, "domi")
    assert all(c.startswith("net-") for c in complete_line(ctl, "net-"))
    assert complete_line(ctl, "list --al") == ["--all"]
    assert complete_line(ctl, "dominfo t") == ["test"]
    assert complete_line(ctl, "net-info d") == ["default"]
    assert complete_line(ctl, "pool-info --pool def") == ["default-pool"]
    assert complete_line(ctl, "uri; hostna") == ["hostname"]


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """Reads a pty, remembering what was already matched."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = b""
        self.pos = 0

    def expect(self, needle: bytes, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while True:
            plain = _ANSI.sub(b"", self.text)
            idx = plain.find(needle, self.pos)
            if idx >= 0:
                self.pos = idx + len(needle)
                return
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {needle!r}; got {plain[-500:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF waiting for {needle!r}; got {plain[-500:]!r}")
                self.text += chunk


def test_terminal_session(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    launcher = tmp_path / "bin" / "pyvirsh"
    launcher.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                        "from pyvirt.cli.main import entry\nentry()\n")
    env = _env()
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", XDG_CACHE_HOME=str(tmp_path / "cache"),
               COLUMNS="120", LINES="40")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(launcher), "-c", "test:///default"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
                            close_fds=True)
    os.close(slave)
    try:
        term = Terminal(master)
        term.expect(b"Welcome to pyvirsh")
        term.expect(b"pyvirsh #")
        os.write(master, b"uri\r")
        term.expect(b"test:///default")
        term.expect(b"pyvirsh #")
        os.write(master, b"hostna\t")
        term.expect(b"hostname")
        os.write(master, b"\r")
        term.expect(b"pyvirsh #")
        os.write(master, b"quit\r")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert (tmp_path / "cache" / "pyvirsh" / "history").read_text().count("uri") >= 1
