# Makes `import libvirt` give pyvirt's compatibility module, to run libvirt-python scripts unchanged.
import sys

import pyvirt.libvirt as _impl

sys.modules[__name__] = _impl
