"""The development folder ``.commentgate/``: what it decides, and what it keeps.

Where the folder exists (``commentgate dev`` makes it), commands run in development
unless ``COMMENTGATE_ENV`` says otherwise: their Redis is the one ``commentgate dev``
embeds, on a Unix socket in the folder, and their secret key is the one kept in it.
:class:`service.core.settings.Settings` takes its defaults from here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Literal

from service.core.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

#: The development folder, under the working directory: ``commentgate dev`` makes it.
#: Where it exists, commands run in development unless ``COMMENTGATE_ENV`` says otherwise.
DEV_DIR = Path(".commentgate")
#: Where development processes keep the secret key they share.
DEV_SECRET_FILE = DEV_DIR / "secret_key"
#: The Unix socket of the Redis ``commentgate dev`` embeds, in the development folder.
DEV_REDIS_SOCKET = DEV_DIR / "redis.sock"
#: Longest Unix socket path kept in the development folder (the kernel allows 107 bytes).
_MAX_SOCKET_PATH = 100
#: The Redis URL outside development when ``COMMENTGATE_REDIS_URL`` is not set.
PRODUCTION_REDIS_URL = "redis://127.0.0.1:6379/0"


def default_env(folder: Path = DEV_DIR) -> Literal["production", "development"]:
    """The one rule: development where the development folder exists, else production.

    ``COMMENTGATE_ENV`` overrides it. ``commentgate dev`` makes the folder, so the admin
    commands run beside it (``commentgate moderators add``, ``config``, ``model list``)
    share its secret key and its Redis; a container or a server has no such folder.

    Args:
        folder: The development folder (relative paths are under the working directory).
    """
    return "development" if folder.is_dir() else "production"


def development_redis_url(socket_path: Path = DEV_REDIS_SOCKET) -> str:
    """The URL of the Redis ``commentgate dev`` embeds for the working directory.

    A Unix socket in the development folder: one per folder, no port to collide with,
    not reachable from the network. Where that path is too long for a socket, the
    socket goes to the temporary directory under a name derived from the folder.

    Args:
        socket_path: The socket (relative paths are under the working directory).

    Returns:
        A ``unix://`` URL, database 0.
    """
    path = socket_path.absolute()
    if len(str(path).encode()) > _MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"commentgate-{os.getuid()}-{digest}.sock"
    return f"unix://{path}?db=0"


def default_redis_url(env: str | None) -> str:
    """``COMMENTGATE_REDIS_URL``'s default: the embedded Redis in development."""
    return development_redis_url() if env == "development" else PRODUCTION_REDIS_URL


def development_secret(path: Path = DEV_SECRET_FILE) -> str:
    """The secret key development processes share, created on first use.

    Every process started in the same directory (the web workers gunicorn forks, the
    workers, the admin commands) reads the same key, and it survives restarts, so
    captcha tokens, moderator sessions and signed tokens stay valid. The file is
    created with mode 0600, atomically: processes starting together agree on one key.

    Args:
        path: The key file (relative paths are under the working directory).

    Returns:
        The key.

    Raises:
        ConfigurationError: The file cannot be created or read, or holds no key.
    """
    try:
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # 0600
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_urlsafe(32) + "\n")
                with contextlib.suppress(FileExistsError):  # another process was first
                    os.link(temporary, path)
                    logger.warning("created a development secret key in %s", path)
            finally:
                os.unlink(temporary)
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot keep the development secret key in {path} ({exc.strerror}); "
            "set COMMENTGATE_SECRET_KEY"
        ) from None
    if len(key) < 32:
        raise ConfigurationError(f"{path} holds no secret key: delete it to make a new one")
    return key
