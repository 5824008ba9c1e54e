"""The QEMU driver: domains as QEMU processes managed over QMP."""
