"""vshTable: column-aligned tables with a header and a dashed divider."""
from __future__ import annotations

import unicodedata
from typing import Any


def _safe(cell: str) -> tuple[str, int]:
    """Escape control characters as \\xNN and return the text and its display width."""
    out: list[str] = []
    width = 0
    i = 0
    while i < len(cell):
        ch = cell[i]
        if (ch == "\\" and cell[i + 1:i + 2] == "x") or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
            width += 4
        elif not ch.isprintable() and ord(ch) > 127:
            for b in ch.encode():
                out.append(f"\\x{b:02x}")
                width += 4
        else:
            out.append(ch)
            if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
                pass
            elif unicodedata.east_asian_width(ch) in ("W", "F"):
                width += 2
            else:
                width += 1
        i += 1
    return "".join(out), width


def format_table(header: list[str], rows: list[list[str]], show_header: bool = True) -> str:
    """Render like vshTablePrint."""
    allrows = [header] + rows
    enc = [[_safe(c) for c in r] for r in allrows]
    ncol = len(header)
    maxw = [0] * ncol
    for ri, r in enumerate(enc):
        if ri == 0 and not show_header:
            continue
        for j, (_, w) in enumerate(r):
            maxw[j] = max(maxw[j], w)
    lines: list[str] = []

    def row(r: list[tuple[str, int]]) -> str:
        parts = []
        for j, (text, w) in enumerate(r):
            parts.append(f" {text}")
            if j < len(r) - 1:
                parts.append(" " * (maxw[j] - w + 2))
        return "".join(parts) + "\n"

    if show_header:
        lines.append(row(enc[0]))
        lines.append("".join("-" * (maxw[j] + 3) for j in range(ncol)) + "\n")
    lines.extend(row(r) for r in enc[1:])
    return "".join(lines)


def print_table(ctl: Any, header: list[str], rows: list[list[str]]) -> None:
    """vshTablePrintToStdout: the header is left out in quiet mode."""
    ctl.print(format_table(header, rows, not ctl.quiet))
