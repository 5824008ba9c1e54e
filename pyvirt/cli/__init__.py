"""pyvirsh: a virsh-compatible shell on top of the libvirt-python-compatible API.

Command and option definitions (names, aliases, types, order, help text) are data in
cmddefs.json, regenerated from the reference virsh by tests/cli/gen_cmddefs.py; options.py
parses command lines exactly like vsh.c; shell.py holds the per-process state (connection,
saved error, option accessors); one module per command group registers handlers with
@command.  The backend is pyvirt.libvirt, or Debian's libvirt with PYVIRSH_BACKEND=libvirt.
"""
