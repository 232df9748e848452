"""The disk cache: round trip, keys, atomic writes, --no-cache, a corrupt file -> one warning + recompute, and
nothing in the cache folder can run code (a planted pickle, a JSON entry of the wrong shape, a FIFO)."""

import os
import warnings

import pytest

from markov_icl import io as cache


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKOV_ICL_CACHE", str(tmp_path / "c"))
    return tmp_path / "c"


class Counter:
    def __init__(self, value):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return self.value


def test_location_from_env(_cache_dir):
    assert cache.cache_dir() == _cache_dir
    cache.cached("k", Counter([1]), x=1)
    assert len(list(_cache_dir.glob("k-*.json"))) == 1


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.delenv("MARKOV_ICL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "markov-icl"


def test_round_trip_and_hit():
    c = Counter({"a": [1, 2], "b": "x"})
    assert cache.cached("t", c, p="1/2", n=5) == {"a": [1, 2], "b": "x"}
    assert cache.cached("t", c, p="1/2", n=5) == {"a": [1, 2], "b": "x"}
    assert c.calls == 1
    cache.cached("t", c, p="1/2", n=6)  # other inputs: other key
    assert c.calls == 2


def test_key_depends_on_inputs_and_version(monkeypatch):
    k1 = cache.make_key("t", p="1/2")
    assert k1 == cache.make_key("t", p="1/2")
    assert k1 != cache.make_key("t", p="1/3") and k1 != cache.make_key("u", p="1/2")
    monkeypatch.setattr(cache, "package_version", lambda: "99.0")
    assert cache.make_key("t", p="1/2") != k1


def test_version_is_the_installed_one():
    from importlib.metadata import version

    import markov_icl

    assert cache.package_version() == markov_icl.__version__ == version("markov-icl")


def test_corrupt_file_recomputed_with_one_warning(_cache_dir):
    c = Counter([1, 2, 3])
    cache.cached("t", c, x=1)
    (path,) = _cache_dir.glob("t-*.json")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"garbage")
    with pytest.warns(cache.CacheWarning, match="corrupt") as rec:
        assert cache.cached("t", c, x=1) == [1, 2, 3]
    assert len(rec) == 1 and c.calls == 2
    with warnings.catch_warnings():  # rewritten: no second warning
        warnings.simplefilter("error")
        assert cache.cached("t", c, x=1) == [1, 2, 3]
    assert c.calls == 2


def test_garbage_file_is_recomputed(_cache_dir):
    c = Counter("v")
    key = cache.make_key("g", x=1)
    _cache_dir.mkdir(parents=True)
    (_cache_dir / f"{key}.json").write_bytes(b"\x00\x01 not a cache file")
    with pytest.warns(cache.CacheWarning):
        assert cache.cached("g", c, x=1) == "v"
    assert c.calls == 1


def test_no_cache_neither_reads_nor_writes(_cache_dir):
    c = Counter(7)
    with cache.disabled():
        cache.cached("t", c, x=1)
        cache.cached("t", c, x=1)
    assert c.calls == 2 and not _cache_dir.exists()
    cache.cached("t", c, x=1)
    with cache.disabled():
        cache.cached("t", c, x=1)
    assert c.calls == 4


def test_atomic_write_leaves_no_temporary_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out" / "f.bin"
    cache.atomic_write_bytes(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        cache.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]


class _Exploit:
    """Unpickling this object would create a marker file: the proof that a pickle ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_planted_pickle_cannot_run_code(_cache_dir, tmp_path):
    import hashlib
    import pickle

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker))
    with pytest.raises(FileNotFoundError):  # the oracle: the payload does run code when unpickled
        marker.stat()
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()
    c = Counter({"a": 1})
    key = cache.make_key("t", x=1)
    _cache_dir.mkdir(parents=True)
    old_frame = b"markov-icl-cache 1\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    new_frame = cache.MAGIC + b"json\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    for name, data in ((f"{key}.pkl", old_frame), (f"{key}.json", new_frame), (f"{key}.bin", new_frame)):
        (_cache_dir / name).write_bytes(data)
    with pytest.warns(cache.CacheWarning, match="corrupt"):
        assert cache.cached("t", c, x=1) == {"a": 1}
    assert c.calls == 1 and not marker.exists()
    assert cache.cached("t", c, x=1) == {"a": 1} and c.calls == 1  # rewritten as JSON: a hit


def test_wrong_type_is_one_warning_and_a_miss(_cache_dir):
    def decode(v):
        if not isinstance(v, dict):
            raise TypeError("expected a dict")
        return v

    key = cache.make_key("t", x=1)
    cache.store(key, [1, 2])  # valid JSON, wrong shape
    c = Counter({"ok": True})
    with pytest.warns(cache.CacheWarning, match="wrong type") as rec:
        assert cache.cached("t", c, decode=decode, x=1) == {"ok": True}
    assert len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.cached("t", c, decode=decode, x=1) == {"ok": True}
    assert c.calls == 1


def test_a_fifo_at_an_entry_path_is_never_opened(_cache_dir):
    key = cache.make_key("t", x=1)
    _cache_dir.mkdir(parents=True)
    os.mkfifo(_cache_dir / f"{key}.json")  # opening it for reading would block forever
    c = Counter([3])
    with pytest.warns(cache.CacheWarning, match="not a regular file"):
        assert cache.cached("t", c, x=1) == [3]
    assert c.calls == 1


def test_a_symlink_at_an_entry_path_is_not_followed(_cache_dir, tmp_path):
    key = cache.make_key("t", x=1)
    cache.store(key, [1])
    target = tmp_path / "elsewhere.json"
    (_cache_dir / f"{key}.json").rename(target)
    (_cache_dir / f"{key}.json").symlink_to(target)
    with pytest.warns(cache.CacheWarning, match="not a regular file"):
        assert cache.cached("t", Counter([2]), x=1) == [2]


def test_bytes_entries_round_trip_and_refuse_json_frames(_cache_dir):
    key = cache.make_key("b", x=1)
    cache.store(key, b"%PDF-1.5 bytes", "bytes")
    assert cache.load(key, "bytes") == (True, b"%PDF-1.5 bytes")
    (_cache_dir / f"{key}.json").write_bytes((_cache_dir / f"{key}.bin").read_bytes())
    with pytest.warns(cache.CacheWarning, match="corrupt"):
        assert cache.load(key, "json") == (False, None)  # a bytes frame is not JSON data
    with pytest.raises(ValueError):
        cache.store(key, {"x": float("nan")})  # strict JSON only
