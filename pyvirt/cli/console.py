"""virsh console and screenshot: a guest's serial console and display through streams."""

from __future__ import annotations
