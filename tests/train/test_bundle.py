"""The tensor bundle (.index SSTable + .data shard) and its checksums."""
import os

import numpy as np
import pytest

from tapeflow.train import bundle, crc


def test_crc32c_known_value():
    assert crc.value(b"123456789") == 0xE3069283


def test_crc32c_python_fallback_agrees():
    data = bytes(range(256)) * 3
    assert crc._extend_python(0, data) == crc.value(data)


def test_mask_roundtrip():
    assert crc.unmask(crc.mask(0xDEADBEEF)) == 0xDEADBEEF


def test_roundtrip_dtypes(tmp_path):
    tensors = {"f": np.arange(6, dtype=np.float32).reshape(2, 3), "d": np.float64(2.5),
               "i": np.array([1, -2], np.int64), "b": np.array([True, False]),
               "c": np.array([1 + 2j], np.complex64), "s": np.array([b"ab", b"", b"xyz"]),
               "u": np.array([7], np.uint8), "h": np.array([1.5], np.float16)}
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, tensors)
    r = bundle.BundleReader(prefix)
    assert r.names() == sorted(tensors)
    for k, v in tensors.items():
        got = r.tensor(k)
        assert got.shape == np.shape(v)
        if k == "s":
            assert list(got) == list(v)
        else:
            np.testing.assert_array_equal(got, v)
            assert got.dtype == np.asarray(v).dtype


def test_many_keys_span_several_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "_BLOCK_SIZE", 256)
    tensors = {f"layer_{i:04d}/kernel": np.full((2,), i, np.float32) for i in range(300)}
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, tensors)
    r = bundle.BundleReader(prefix)
    assert len(r.names()) == 300
    np.testing.assert_array_equal(r.tensor("layer_0123/kernel"), [123, 123])


def test_truncated_index_names_the_file(tmp_path):
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, {"w": np.zeros(3, np.float32)})
    index = tmp_path / "c.index"
    raw = index.read_bytes()
    index.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(bundle.CheckpointError, match="c.index"):
        bundle.BundleReader(prefix)


def test_flipped_index_byte_fails_block_checksum(tmp_path):
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, {"w": np.zeros(3, np.float32)})
    index = tmp_path / "c.index"
    raw = bytearray(index.read_bytes())
    raw[5] ^= 0xFF
    index.write_bytes(bytes(raw))
    with pytest.raises(bundle.CheckpointError, match="checksum"):
        bundle.BundleReader(prefix)


def test_bad_data_checksum_names_file_and_variable(tmp_path):
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, {"dense/kernel": np.ones(4, np.float32)})
    data = tmp_path / "c.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[0] ^= 0x01
    data.write_bytes(bytes(raw))
    r = bundle.BundleReader(prefix)
    with pytest.raises(bundle.CheckpointError, match=r"data-00000-of-00001.*dense/kernel"):
        r.tensor("dense/kernel")


def test_missing_index_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.index"):
        bundle.BundleReader(os.path.join(tmp_path, "nothing"))


def test_tensorflow_reads_tapeflow_bundle(tmp_path, real_tf):
    tensors = {"a/b": np.arange(12, dtype=np.float32).reshape(3, 4), "n": np.int64(5),
               "s": np.array([b"x", b"yz"])}
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, tensors)
    r = real_tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(r.get_tensor("a/b"), tensors["a/b"])
    assert r.get_tensor("n") == 5
    assert list(r.get_tensor("s")) == [b"x", b"yz"]


def test_protos_match_tensorflow_field_numbers(real_tf):
    from tensorflow.core.protobuf import tensor_bundle_pb2, trackable_object_graph_pb2

    from tapeflow.train._protos import messages
    m = messages()

    def fields(desc):
        # Enums are declared as int32 on our side: the same varint on the wire.
        out = {f.name: (f.number, 5 if f.type == 14 else f.type) for f in desc.fields}
        for n in desc.nested_types:
            out.update({f"{n.name}.{k}": v for k, v in fields(n).items()})
        return out
    for ours, theirs in [(m.BundleEntryProto, tensor_bundle_pb2.BundleEntryProto),
                         (m.BundleHeaderProto, tensor_bundle_pb2.BundleHeaderProto),
                         (m.TrackableObjectGraph,
                          trackable_object_graph_pb2.TrackableObjectGraph)]:
        assert fields(ours.DESCRIPTOR) == fields(theirs.DESCRIPTOR)


def test_truncated_data_file_names_file_and_variable(tmp_path):
    prefix = str(tmp_path / "c")
    bundle.write_bundle(prefix, {"a": np.ones(4, np.float32), "b": np.ones(8, np.float32)})
    data = tmp_path / "c.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:20])
    r = bundle.BundleReader(prefix)
    np.testing.assert_array_equal(r.tensor("a"), np.ones(4))
    with pytest.raises(bundle.CheckpointError, match=r"data-00000-of-00001: truncated.*'b'"):
        r.tensor("b")
