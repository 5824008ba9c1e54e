"""pyvirtd: a daemon serving pyvirt's drivers over libvirt's remote protocol.

Real virsh and libvirt-python connect to it as to libvirtd::

    python -m pyvirt.daemon -f pyvirtd.conf [-l] [-p PIDFILE] [-t SECS] [-d] [-v]
    virsh -c 'test+unix:///default?socket=DIR/libvirt-sock' list --all
    virsh -c 'test+unix:///default?socket=DIR/libvirt-sock-ro' list      # read-only socket
    virsh -c 'test+tcp://127.0.0.1:16509/default' list                   # listen_tcp + -l
    virsh -c 'test+tls://HOST:16514/default?pkipath=PKI' list            # listen_tls + -l

The configuration file uses libvirtd.conf's syntax and keys (see
:mod:`.config`). Sockets are named like libvirtd's (``libvirt-sock``,
``libvirt-sock-ro`` in ``unix_sock_dir``: /run/libvirt as root,
$XDG_RUNTIME_DIR/libvirt otherwise); TCP and TLS use ports 16509 and 16514.

TLS in one command: ``python -m pyvirt.daemon.certs --host HOSTNAME`` writes a
CA, server and client certificates in libvirt's /etc/pki layout (or
``--dir PKI`` for a flat directory usable as a client's ``pkipath``).

Modules: :mod:`.config` (libvirtd.conf), :mod:`.listeners` (sockets, TLS, DN
checks), :mod:`.server` and :mod:`.client` (I/O, worker pool, limits,
keepalive, streams), :mod:`.dispatch` (procedure table -> driver calls),
:mod:`.wire` and :mod:`.codec` (the daemon's use of :mod:`pyvirt.rpc`),
:mod:`.shapes` (calls whose wire shape differs from the driver's result),
:mod:`.events` (driver callbacks -> MESSAGE packets), :mod:`.certs` (the
certificate tool), :mod:`.main` (the command line).
"""
