"""Does KVM really work here? A probe that runs guest code through the long-mode switch.

/dev/kvm may exist while guests hang (nested virtualization gone wrong: here a
Linux guest stops right where it leaves real mode). The probe boots a tiny
firmware that goes real mode -> protected mode -> long mode with paging and
then writes to QEMU's isa-debug-exit port; QEMU then exits with status
``(0x2a << 1) | 1``. Anything else, or no exit within the timeout, means KVM
is not usable. The answer is cached per emulator binary.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile

__all__ = ["kvm_usable", "probe_rom"]

# The firmware, assembled with GNU as (``as --32``; ``objcopy -O binary``) from:
#       .code16
#       .org 0
#   start:
#       cli
#       lgdtl %cs:gdtr
#       movl %cr0, %eax
#       orl $1, %eax
#       movl %eax, %cr0
#       ljmpl $0x08, $(0xF0000 + pm32)
#       .code32
#   pm32:
#       movw $0x10, %ax
#       movw %ax, %ds
#       movw %ax, %es
#       movw %ax, %ss
#       movl $0x1000, %edi
#       xorl %eax, %eax
#       movl $0xC00, %ecx
#       rep stosl
#       movl $0x2003, 0x1000
#       movl $0x3003, 0x2000
#       movl $0x83, 0x3000
#       movl %cr4, %eax
#       orl $0x20, %eax
#       movl %eax, %cr4
#       movl $0x1000, %eax
#       movl %eax, %cr3
#       movl $0xC0000080, %ecx
#       rdmsr
#       orl $0x100, %eax
#       wrmsr
#       movl %cr0, %eax
#       orl $0x80000000, %eax
#       movl %eax, %cr0
#       ljmp $0x18, $(0xF0000 + lm64)
#       .code64
#   lm64:
#       movb $0x2a, %al
#       outb %al, $0xf4
#   1:  hlt
#       jmp 1b
#       .p2align 3
#   gdt:
#       .quad 0
#       .quad 0x00CF9A000000FFFF
#       .quad 0x00CF92000000FFFF
#       .quad 0x00AF9A000000FFFF
#   gdtr:
#       .word 31
#       .long 0xF0000 + gdt
#       .code16
#       .org 0xFFF0
#       ljmp $0xF000, $start
#       .org 0x10000
_CODE = bytes.fromhex(
    "fa2e660f0116a8000f20c06683c8010f22c066ea1a000f00080066b810008ed8"
    "8ec08ed0bf0010000031c0b9000c0000f3abc7050010000003200000c7050020"
    "000003300000c70500300000830000000f20e083c8200f22e0b8001000000f22"
    "d8b9800000c00f320d000100000f300f20c00d000000800f22c0ea81000f0018"
    "00b02ae6f4f4ebfd0000000000000000ffff0000009acf00ffff00000092cf00"
    "ffff0000009aaf001f0088000f000000"
)
_RESET = bytes.fromhex("ea000000f0")  # at 0xFFF0: ljmp $0xF000, $start
_EXIT_STATUS = (0x2A << 1) | 1


def probe_rom() -> bytes:
    """The 64 KiB probe firmware image."""
    rom = bytearray(0x10000)
    rom[:len(_CODE)] = _CODE
    rom[0xFFF0:0xFFF0 + len(_RESET)] = _RESET
    return bytes(rom)


@functools.lru_cache(maxsize=None)
def kvm_usable(emulator: str = "/usr/bin/qemu-system-x86_64", timeout: float = 2.0) -> bool:
    """True when *emulator* can run the probe under KVM (never hangs: *timeout* seconds at most)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    return _run_probe(emulator, "kvm", timeout)


def _run_probe(emulator: str, accel: str, timeout: float) -> bool:
    with tempfile.NamedTemporaryFile(prefix="pyvirt-kvm-probe-", suffix=".rom") as rom:
        rom.write(probe_rom())
        rom.flush()
        argv = [emulator, "-accel", accel, "-machine", "pc", "-bios", rom.name, "-m", "16",
                "-nodefaults", "-no-user-config", "-display", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return proc.returncode == _EXIT_STATUS
