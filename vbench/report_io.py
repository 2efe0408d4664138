"""Result files are written atomically: to a temporary file beside the target, then renamed, so an
interrupted run never leaves a half-written file or destroys the previous one."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str | bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make results unreadable to others
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def non_finite_key(data: Any, where: str = "") -> tuple[str, float] | None:
    """The first NaN or +-Infinity in `data` (dicts, lists, tuples), as (its key path, e.g.
    `results[0].layers[3].cycles`, the value), or None: JSON has no such numbers."""
    if isinstance(data, float):
        return None if math.isfinite(data) else (where or "(top level)", data)
    if isinstance(data, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in data.items())
    elif isinstance(data, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(data))
    else:
        return None
    for key, value in items:
        found = non_finite_key(value, key)
        if found:
            return found
    return None


def strict_json(data: Any, what: str = "results") -> str:
    """`data` as strict JSON (indented, as vbench writes files): NaN and Infinity are refused
    with a VbenchError naming the key, before anything is written."""
    from vbench.errors import VbenchError

    found = non_finite_key(data)
    if found:
        raise VbenchError(f"{what}: key '{found[0]}' is {found[1]}: refusing to write it (JSON has no NaN or "
                          f"Infinity; a result must be a finite number or null)")
    return json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False) + "\n"


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write `data` as strict JSON: a NaN or Infinity anywhere is refused (VbenchError naming the
    file and the key) and nothing is written."""
    write_text_atomic(path, strict_json(data, str(path)))


def write_csv_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def write_png_atomic(path: str | Path, draw, dpi: int = 110) -> None:
    """Draw a figure with matplotlib's Agg backend (`draw(plt)` returns it) and write it as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw(plt)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    write_text_atomic(path, buf.getvalue())
