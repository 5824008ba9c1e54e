"""Import every command module so that their handlers register themselves."""
from . import builtin, domain, domain_monitor, host, interface, network, nodedev  # noqa: F401
from . import domain_extra, domain_more, events, pool, snapshot, undefine, volume  # noqa: F401
from . import attach, console  # noqa: F401
