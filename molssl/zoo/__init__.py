"""Named pretrained encoders: sources, checksums, converters (filled below)."""
