"""Media handling: decoding clips, planning segments, and synthetic test media."""
