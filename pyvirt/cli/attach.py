"""virsh commands that plug devices into domains: attach-disk, detach-disk, attach-interface, detach-interface, change-media."""

from __future__ import annotations
