"""Static files for production: WhiteNoise's hashed names and .gz/.br companions, compressed
once per file rather than on every start.

deploy/run collects the static files each time it starts; WhiteNoise compresses every file
again each time (brotli at quality 11: about 40 s of one core for drf-spectacular's
Swagger UI and Redoc bundles), which delayed every restart of a node by that much. A
companion carries its source's mtime (WhiteNoise sets it), so one whose mtime and source
still match is the file's compressed form already and is kept.
"""

from __future__ import annotations

import os

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

SUFFIXES = (".br", ".gz")


class OnceCompressor(Compressor):
    def compress(self, path):
        source = os.stat(path)
        kept = []
        for suffix in SUFFIXES:
            try:
                companion = os.stat(path + suffix)
            except FileNotFoundError:
                continue
            # WhiteNoise copies the mtime as a float: equal to within a microsecond.
            if abs(companion.st_mtime_ns - source.st_mtime_ns) < 1000 and companion.st_size > 0:
                kept.append(path + suffix)
        if kept:
            return kept
        return super().compress(path)


class CompressedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs):
        return OnceCompressor(**kwargs)
