"""libvirt's secret XML (``<secret>``): parse, validate, format (libvirt 9.0's secret_conf.c)."""

from __future__ import annotations

import copy

from .. import constants as c
from ..errors import make_error
from .netcommon import E, XMLModel, format_doc, new_uuid, parse_doc, parse_uuid, xs
from .xmlutil import Element

__all__ = ["SecretDef", "USAGE_TYPES"]

DOM = c.VIR_FROM_SECRET
#: usage type -> child element holding the usage id, and the name used in errors
USAGE_TYPES: dict[str, tuple[str, str]] = {
    "none": ("", ""), "volume": ("volume", "volume path"), "ceph": ("name", "name"),
    "iscsi": ("target", "target"), "tls": ("name", "name"), "vtpm": ("name", "name"),
}
_LABEL = {"volume": "volume", "ceph": "Ceph", "iscsi": "iSCSI", "tls": "TLS", "vtpm": "vTPM"}


class SecretDef(XMLModel):
    """A secret definition backed by its canonical XML tree."""

    def __init__(self, root: Element) -> None:
        self.root = root

    @classmethod
    def parse(cls, xml: str | bytes) -> "SecretDef":
        """Parse and validate *xml* as virSecretDefParse does (UUID generated when missing)."""
        return cls.from_element(parse_doc(xml, "secret", "definition_of_secret", DOM))

    @classmethod
    def from_element(cls, src: Element) -> "SecretDef":
        """Validate and canonicalize a parsed ``<secret>`` element."""
        flags = {}
        for attr in ("ephemeral", "private"):
            val = xs(src, f"./@{attr}")
            if val and val not in ("yes", "no"):
                raise make_error(c.VIR_ERR_XML_ERROR, f"invalid value of '{attr}'", DOM)
            flags[attr] = val == "yes"
        uuid_s = xs(src, "./uuid")
        if uuid_s:
            uuid = parse_uuid(uuid_s)
            if uuid is None:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR, "malformed uuid element", DOM)
        else:
            uuid = new_uuid()
        root = E("secret", ("ephemeral", "yes" if flags["ephemeral"] else "no"),
                 ("private", "yes" if flags["private"] else "no"))
        root.append(E("uuid", text=uuid))
        desc = xs(src, "./description")
        if desc:
            root.append(E("description", text=desc))
        if src.find("usage") is not None:
            utype = xs(src, "./usage/@type")
            if not utype:
                raise make_error(c.VIR_ERR_XML_ERROR, "unknown secret usage type", DOM)
            if utype not in USAGE_TYPES:
                raise make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown secret usage type {utype}", DOM)
            if utype != "none":
                tag, what = USAGE_TYPES[utype]
                usage_id = xs(src, f"./usage/{tag}")
                if not usage_id:
                    raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                                     f"{_LABEL[utype]} usage specified, but {what} is missing", DOM)
                usage = E("usage", ("type", utype))
                usage.append(E(tag, text=usage_id))
                root.append(usage)
        return cls(root)

    def copy(self) -> "SecretDef":
        """A deep copy."""
        return SecretDef(copy.deepcopy(self.root))

    @property
    def uuid(self) -> str:
        """The UUID string."""
        return self.root.findtext("uuid") or ""

    @property
    def uuid_bytes(self) -> bytes:
        """The UUID's 16 raw bytes."""
        return bytes.fromhex(self.uuid.replace("-", ""))

    @property
    def ephemeral(self) -> bool:
        """Whether the secret is kept only in memory."""
        return self.root.get("ephemeral") == "yes"

    @property
    def private(self) -> bool:
        """Whether the value may not be read back."""
        return self.root.get("private") == "yes"

    @property
    def description(self) -> str | None:
        """The free-form description."""
        return self.root.findtext("description")

    @property
    def usage_type(self) -> str:
        """volume, ceph, iscsi, tls, vtpm, or 'none'."""
        usage = self.root.find("usage")
        return usage.get("type", "none") if usage is not None else "none"

    @property
    def usage_id(self) -> str | None:
        """The usage identifier (volume path, ceph/tls/vtpm name, iscsi target)."""
        usage = self.root.find("usage")
        return usage[0].text if usage is not None and len(usage) else None

    def to_xml(self, inactive: bool = False) -> str:
        """The XML libvirt prints for the secret."""
        return format_doc(self.root)
