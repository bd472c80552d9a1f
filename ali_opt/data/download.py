"""Fetching data files: a download with a progress bar and an MD5 check, and safe tar extraction."""
from __future__ import annotations

import hashlib
import tarfile
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ali_opt.errors import ConfigError

TIMEOUT_S = 30.0
"""Seconds to wait for the server to connect or send more data before giving up."""

_CHUNK_BYTES = 1 << 20


def download(url: str, destination: Path, *, md5: str | None, manual_hint: str) -> None:
    """Save ``url`` as ``destination``, showing progress; check its MD5 when ``md5`` is given.

    The data goes to ``destination.part`` first and is renamed only when complete and
    verified, so an interrupted download never leaves a plausible-looking file. Network
    failures raise ConfigError ending with ``manual_hint`` (what to do instead).
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(partial, "wb") as file:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"downloading {destination.name}") as progress:
                while chunk := response.read(_CHUNK_BYTES):
                    file.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
    except OSError as error:  # URLError, HTTPError and timeouts are OSErrors
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise ConfigError(f"could not download {url} ({reason}); {manual_hint}") from None
    if md5 is not None and digest.hexdigest() != md5:
        partial.unlink()
        raise ConfigError(
            f"the download of {url} has MD5 {digest.hexdigest()}, not the published {md5} (corrupt or changed); "
            "try again, or pass verify_checksum=False to accept it"
        )
    partial.replace(destination)


def extract_tar(archive: Path, destination: Path) -> None:
    """Unpack ``archive`` into ``destination``, refusing members that would land outside it
    (absolute paths, ``..``, links) and special files such as devices: tarfile's "data"
    filter where Python has it (3.11.4 and later), the same checks by hand before that."""
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(destination, filter="data")
            else:
                tar.extractall(destination, members=_safe_members(tar, destination))
    except (tarfile.TarError, OSError) as error:
        raise ConfigError(f"could not extract {archive} ({error}); delete it and try again") from None


def _safe_members(tar: tarfile.TarFile, destination: Path) -> list[tarfile.TarInfo]:
    """Every member of ``tar``, after checking each is a file or folder that stays inside ``destination``."""
    root = destination.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or (target != root and root not in target.parents):
            raise tarfile.TarError(f"member {member.name!r} is not a plain file or folder inside {destination}")
    return tar.getmembers()
