"""Small helpers shared by every layer: atomic files, fingerprints, seeding."""

from crossdistill.common.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from crossdistill.common.fingerprint import fingerprint, fingerprint_file

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "fingerprint", "fingerprint_file"]
