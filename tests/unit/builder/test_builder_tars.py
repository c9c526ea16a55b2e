"""The tars kpack writes, byte for byte as Go's archive/tar: headers, padding, the end of the archive,
and the gzip blob around them."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from contracts import oci
from services.builder import tars

MTIME_1980 = 315532801
"""1980-01-01T00:00:01Z."""


def read_back(archive: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        return tar.getmembers()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            tars.directory("/workspace", uid=1000, gid=3000),
            ("/workspace", tarfile.DIRTYPE, 0o755, 1000, 3000, 0),
            id="a directory keeps its absolute name without a trailing slash and its owner",
        ),
        pytest.param(
            tars.directory("/cnb/buildpacks"),
            ("/cnb/buildpacks", tarfile.DIRTYPE, 0o755, 0, 0, 0),
            id="a root-owned directory is 0755 and owned by 0:0",
        ),
        pytest.param(
            tars.regular_file("/cnb/stack.toml", b"abc"),
            ("/cnb/stack.toml", tarfile.REGTYPE, 0o644, 0, 0, 3),
            id="a regular file is 0644 with its size",
        ),
        pytest.param(
            tars.directory("/workspace", uid=2097151, gid=2097151),
            ("/workspace", tarfile.DIRTYPE, 0o755, 2097151, 2097151, 0),
            id="the largest id an octal field holds stays in the USTAR header",
        ),
        pytest.param(
            tars.directory("/workspace", uid=1000860000, gid=3000),
            ("/workspace", tarfile.DIRTYPE, 0o755, 1000860000, 3000, 0),
            id="a uid beyond the octal field reads back from a PAX record",
        ),
        pytest.param(
            tars.directory("/layers", uid=5, gid=2097152),
            ("/layers", tarfile.DIRTYPE, 0o755, 5, 2097152, 0),
            id="a gid beyond the octal field reads back from a PAX record",
        ),
    ],
)
def test_entries_read_back_with_kpacks_fields(entry: tars.Entry, expected: tuple[object, ...]) -> None:
    (member,) = read_back(tars.tar_bytes([entry]))
    assert (member.name, member.type, member.mode, member.uid, member.gid, member.size) == expected
    assert (member.mtime, member.uname, member.gname) == (MTIME_1980, "", "")


@pytest.mark.parametrize(
    ("entries", "length"),
    [
        pytest.param([], 1024, id="an empty archive is the two zero blocks only"),
        pytest.param([tars.directory("/cnb")], 512 + 1024, id="a directory is one header block"),
        pytest.param(
            [tars.regular_file("/f", b"x" * 512)], 3 * 512 + 512, id="512 bytes of content fill one block"
        ),
        pytest.param(
            [tars.regular_file("/f", b"x" * 513)], 4 * 512 + 512, id="513 bytes of content pad to two blocks"
        ),
        pytest.param([tars.regular_file("/f", b"")], 512 + 1024, id="an empty file has no content block"),
        pytest.param(
            [tars.directory("/w", uid=2**22)],
            3 * 512 + 1024,
            id="a PAX header adds a header and a record block",
        ),
    ],
)
def test_the_archive_ends_with_exactly_two_zero_blocks(entries: list[tars.Entry], length: int) -> None:
    archive = tars.tar_bytes(entries)
    assert len(archive) == length
    assert archive[-1024:] == bytes(1024)
    assert len(archive) % 10240 != 0 or not entries  # no padding to tarfile's record size


def test_a_regular_file_matches_pythons_ustar_header_but_for_gos_device_numbers() -> None:
    """Python's tarfile writes USTAR numbers as Go does (zero-padded octal and a NUL); Go also
    writes devmajor and devminor for a regular file, where Python leaves them empty, and its
    checksum (six octal digits, a NUL, a space) counts them."""
    content = b'[run-image]\n  image = "r.io/b:t-run-image@sha256:1"\n'
    info = tarfile.TarInfo("/cnb/stack.toml")
    info.size, info.mode, info.mtime, info.uname, info.gname = len(content), 0o644, MTIME_1980, "", ""
    python = info.tobuf(format=tarfile.USTAR_FORMAT)
    archive = tars.tar_bytes([tars.regular_file("/cnb/stack.toml", content)])
    header = archive[:512]
    assert (header[:148], header[156:329], header[345:]) == (python[:148], python[156:329], python[345:])
    assert header[329:345] == b"0000000\x000000000\x00"
    assert header[148:156] == b"%06o\0 " % (sum(header[:148]) + sum(header[156:]) + 8 * 32)
    assert archive[512:] == content + bytes(-len(content) % 512) + bytes(1024)


def test_a_directory_header_has_gos_fields_at_their_offsets() -> None:
    header = tars.tar_bytes([tars.directory("/workspace", uid=1000, gid=1000)])[:512]
    assert header[:11] == b"/workspace\0"
    assert header[100:148] == b"0000755\x000001750\x000001750\x0000000000000\x0002263523001\x00"
    assert header[148:156] == b"%06o\0 " % (sum(header[:148]) + sum(header[156:]) + 8 * 32)
    assert header[156:157] == b"5"
    assert header[257:265] == b"ustar\x0000"
    assert header[265:329] == bytes(64)  # empty uname and gname
    assert header[329:345] == b"0000000\x000000000\x00"
    assert header[345:] == bytes(167)


def test_a_large_uid_writes_a_pax_header_first_and_zero_in_the_main_header() -> None:
    archive = tars.tar_bytes([tars.directory("/workspace", uid=1000860000, gid=3000)])
    pax, record, main = archive[:512], archive[512:1024], archive[1024:1536]
    assert pax[:24] == b"/PaxHeaders.0/workspace\0"
    assert pax[156:157] == b"x"
    assert pax[124:136] == b"00000000022\0"
    assert record == b"18 uid=1000860000\n" + bytes(512 - 18)
    assert main[108:124] == b"0000000\x000005670\x00"


def test_both_ids_beyond_the_octal_field_are_recorded_in_key_order() -> None:
    archive = tars.tar_bytes([tars.directory("/cnb/buildpacks", uid=2**21, gid=2**21 + 1)])
    assert archive[:29] == b"/cnb/PaxHeaders.0/buildpacks\0"
    assert archive[512:1024].rstrip(b"\0") == b"15 gid=2097153\n15 uid=2097152\n"


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(tars.directory("/" + "a" * 100), id="a name longer than 100 bytes"),
        pytest.param(tars.directory("/caf\u00e9"), id="a name that is not ASCII"),
        pytest.param(tars.directory("/a\0b"), id="a name with a NUL"),
        pytest.param(tars.directory("/a", uid=-1), id="a negative uid"),
        pytest.param(tars.directory("/a", gid=-1), id="a negative gid"),
    ],
)
def test_what_a_ustar_header_cannot_hold_is_refused(entry: tars.Entry) -> None:
    with pytest.raises(ValueError, match="tar entry"):
        tars.tar_bytes([entry])


def test_a_name_of_exactly_100_bytes_fills_the_field_without_a_nul() -> None:
    name = "/" + "a" * 99
    archive = tars.tar_bytes([tars.directory(name)])
    assert archive[:100] == name.encode()
    assert [member.name for member in read_back(archive)] == [name]


def test_a_gzip_layer_names_its_blob_and_the_uncompressed_diff_id() -> None:
    tar = tars.tar_bytes([tars.regular_file("/cnb/order.toml", b"order = []\n")])
    layer = tars.gzip_layer(tar)
    assert gzip.decompress(layer.blob) == tar
    assert layer.diff_id == oci.sha256_digest(tar)
    assert layer.descriptor == oci.Descriptor(
        media_type="application/vnd.docker.image.rootfs.diff.tar.gzip",
        digest=oci.sha256_digest(layer.blob),
        size=len(layer.blob),
    )
    assert layer.blob[4:8] == bytes(4)  # gzip mtime 0


def test_equal_tars_give_equal_blobs() -> None:
    def make() -> tars.GzipLayer:
        return tars.gzip_layer(tars.tar_bytes([tars.directory("/workspace", uid=1000, gid=1000)]))

    assert make() == make()
