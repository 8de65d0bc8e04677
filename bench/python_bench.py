"""Python client benchmarks, each beside a floor measured in the same run:

- training read: 16 KiB samples/s through NoKVDataset with a 2-worker DataLoader (batch 64),
  beside the same Dataset code over the same files on local disk (goal >= 10K samples/s);
- checkpoint save: MB/s of nokv.torch.save beside torch.save to local disk (goal >= 0.5x).

It starts its own metad (file:// store in a temp directory) like the tests do.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))

import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

import nokv  # noqa: E402
from conftest import Metad  # noqa: E402
from nokv.torch import NoKVDataset, save  # noqa: E402

SAMPLE_BYTES = 16 * 1024


class LocalDataset(Dataset):
    """The floor: the same map-style Dataset shape over files on local disk."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with open(self.paths[index], "rb") as f:
            return f.read()

    def __getitems__(self, indices):
        return [self[i] for i in indices]


def samples_per_s(dataset, epochs):
    loader = DataLoader(dataset, batch_size=64, num_workers=2, shuffle=True, collate_fn=lambda batch: batch,
                        persistent_workers=True)
    for _ in loader:  # warm-up epoch: workers start, connections open, page cache fills
        pass
    count = 0
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            count += len(batch)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--checkpoint-mb", type=int, default=256)
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="nokv-pybench-")
    metad = Metad("file://" + os.path.join(work, "objects"))
    try:
        client = nokv.connect(metad.url)
        client.mkdir("/samples")
        local_dir = os.path.join(work, "local")
        os.makedirs(local_dir)
        blobs = [os.urandom(SAMPLE_BYTES) for _ in range(opts.samples)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: client.write_file("/samples/s%06d" % i, blobs[i]), range(opts.samples)))
        local_paths = []
        for i, blob in enumerate(blobs):
            path = os.path.join(local_dir, "s%06d" % i)
            with open(path, "wb") as f:
                f.write(blob)
            local_paths.append(path)

        nokv_rate = samples_per_s(NoKVDataset(metad.url, "/samples"), opts.epochs)
        local_rate = samples_per_s(LocalDataset(local_paths), opts.epochs)
        print("training read, 16 KiB samples, DataLoader 2 workers: nokv %.0f samples/s | local disk floor %.0f samples/s "
              "(%.2fx; goal >= 10000)" % (nokv_rate, local_rate, nokv_rate / local_rate))

        elements = opts.checkpoint_mb * 1024 * 1024 // 4
        state = {"w%d" % i: torch.randn(elements // 8) for i in range(8)}
        size_mb = sum(t.numel() * 4 for t in state.values()) / 1e6
        local_file = os.path.join(work, "ckpt.pt")
        rates = {"nokv": [], "local": []}
        for round_ in range(2):
            started = time.perf_counter()
            torch.save(state, local_file)
            # No fsync on either side: NoKV's default durability does not fsync objects either.
            rates["local"].append(size_mb / (time.perf_counter() - started))
            os.unlink(local_file)
            started = time.perf_counter()
            save(state, (client, "/ckpt-%d.pt" % round_))
            rates["nokv"].append(size_mb / (time.perf_counter() - started))
        nokv_mbs, local_mbs = max(rates["nokv"]), max(rates["local"])
        print("checkpoint save, %.0f MB: nokv %.0f MB/s | torch.save to local disk floor %.0f MB/s (%.2fx; goal >= 0.5x)"
              % (size_mb, nokv_mbs, local_mbs, nokv_mbs / local_mbs))
        client.close()
    finally:
        metad.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
