import os
from concurrent.futures import ThreadPoolExecutor

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch.utils.data import DataLoader  # noqa: E402

from nokv.torch import NoKVDataset, NoKVShardDataset, load, save  # noqa: E402


def test_dataloader_two_workers_2000_samples_byte_exact(metad, client, tmp_root):
    count = 2000
    data = [os.urandom(1024 + (i % 7) * 100) for i in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.write_file("%s/s%05d" % (tmp_root, i), data[i]), range(count)))
    dataset = NoKVDataset(metad.url, tmp_root)
    assert len(dataset) == count
    loader = DataLoader(dataset, batch_size=64, num_workers=2, collate_fn=lambda batch: batch)
    seen = []
    for batch in loader:
        seen.extend(batch)
    assert len(seen) == count
    assert all(a == b for a, b in zip(seen, data))
    # Shuffled, with a transform, through the URL form.
    as_len = NoKVDataset("%s/default%s" % (metad.url, tmp_root), transform=len)
    lengths = [n for batch in DataLoader(as_len, batch_size=100, num_workers=2, shuffle=True, collate_fn=lambda b: b) for n in batch]
    assert sorted(lengths) == sorted(len(d) for d in data)


def test_shard_dataset_streams_each_shard_once_across_workers(metad, client, tmp_root):
    shards = []
    for i in range(5):
        path = "%s/shard-%d" % (tmp_root, i)
        client.write_file(path, bytes([i]) * (1000 + i))
        shards.append(path)
    dataset = NoKVShardDataset(metad.url, shards)
    got = [item for batch in DataLoader(dataset, batch_size=None, num_workers=2) for item in [batch]]
    assert sorted(got) == sorted(bytes([i]) * (1000 + i) for i in range(5))


def test_checkpoint_save_load_streams_and_publishes_atomically(metad, client, tmp_root):
    state = {"step": 7, "weights": torch.randn(512, 1024), "bias": torch.arange(10)}
    url = "%s/default%s/ckpt/step-7.pt" % (metad.url, tmp_root)
    client.mkdir(tmp_root + "/ckpt")
    st = save(state, url, block_size=1024 * 1024)
    assert st.size > 512 * 1024 * 4
    back = load(url)
    assert back["step"] == 7 and torch.equal(back["weights"], state["weights"]) and torch.equal(back["bias"], state["bias"])

    class Boom:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        save({"w": torch.zeros(300_000), "bad": Boom()}, (client, tmp_root + "/ckpt/broken.pt"))
    assert not client.exists(tmp_root + "/ckpt/broken.pt")
