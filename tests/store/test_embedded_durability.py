"""The embedded store keeps acknowledged writes on disk, including after a SIGKILL."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from twinmesh.domain import NewTwin, TenantId
from twinmesh.errors import StoreUnavailable
from twinmesh.store.embedded import EmbeddedStore

TENANT = TenantId("acme")

WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from twinmesh.domain import NewTwin, TenantId
    from twinmesh.store.embedded import EmbeddedStore

    async def main() -> None:
        store = EmbeddedStore(sys.argv[1])
        await store.open()
        for i in range(50):
            await store.create_twin(TenantId("acme"), NewTwin(id=f"t{i}", model="dtmi:x:T;1"))
            print(f"t{i}", flush=True)  # acknowledged
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_reopening_the_file_finds_every_twin(tmp_path: Path) -> None:
    path = tmp_path / "store" / "twinmesh.sqlite3"
    store = EmbeddedStore(path)
    await store.open()
    await store.create_twin(TENANT, NewTwin(id="room-1", model="dtmi:x:Room;1"))
    await store.close()

    reopened = EmbeddedStore(path)
    await reopened.open()
    try:
        twin = await reopened.get_twin(TENANT, "room-1")
    finally:
        await reopened.close()
    assert twin is not None


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "twinmesh.sqlite3"
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await writer.communicate()
    assert writer.returncode == -9, stderr.decode()
    acknowledged = stdout.decode().split()
    assert len(acknowledged) == 50

    store = EmbeddedStore(path)
    await store.open()
    try:
        for twin_id in acknowledged:
            assert await store.get_twin(TENANT, twin_id) is not None, twin_id
    finally:
        await store.close()


async def test_an_unwritable_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = EmbeddedStore(blocker / "twinmesh.sqlite3")
    with pytest.raises(StoreUnavailable, match="data directory"):
        await store.open()
