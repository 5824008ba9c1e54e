"""pyvirtd: a daemon serving pyvirt's drivers over libvirt's remote protocol.

Real virsh and libvirt-python connect to it like to libvirtd
(``test+unix:///default?socket=DIR/libvirt-sock``, ``test+tcp://``,
``test+tls://``). Modules: :mod:`.config` (libvirtd.conf), :mod:`.listeners`
(sockets, TLS), :mod:`.server` and :mod:`.client` (I/O, worker pool,
keepalive), :mod:`.dispatch` (procedure table -> driver calls),
:mod:`.certs` (the ``pyvirt-certs`` tool), :mod:`.main` (the command line).
"""
