"""deploy/run collects the static files on every start: each file is compressed once, and
again only when it changes (statuspage/staticfiles.py)."""

import os

import brotli

from statuspage.staticfiles import OnceCompressor


def compress(path):
    return sorted(OnceCompressor(quiet=True).compress(str(path)))


def test_a_file_is_compressed_once_and_again_when_it_changes(tmp_path):
    source = tmp_path / "app.js"
    source.write_text("console.log('status');\n" * 2000)
    assert compress(source) == [f"{source}.br", f"{source}.gz"]
    first = {s: os.stat(f"{source}{s}").st_mtime_ns for s in (".br", ".gz")}
    # Mark the companion (same mtime as before): a second compression would overwrite it.
    (tmp_path / "app.js.br").write_bytes(b"kept")
    os.utime(f"{source}.br", ns=(first[".br"], first[".br"]))

    assert compress(source) == [f"{source}.br", f"{source}.gz"]
    assert (tmp_path / "app.js.br").read_bytes() == b"kept"  # not compressed again

    source.write_text("console.log('changed');\n" * 2000)
    assert compress(source) == [f"{source}.br", f"{source}.gz"]
    assert brotli.decompress((tmp_path / "app.js.br").read_bytes()) == source.read_bytes()


def test_a_file_not_worth_compressing_is_tried_each_time_and_left_alone(tmp_path):
    source = tmp_path / "random.bin.js"
    source.write_bytes(os.urandom(4096))
    assert compress(source) == []
    assert compress(source) == []
