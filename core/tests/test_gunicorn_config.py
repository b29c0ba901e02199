"""deploy/gunicorn.conf.py, read as gunicorn reads it (a Python file of setting names)."""

import runpy
from pathlib import Path

from gunicorn.config import Config

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def load(monkeypatch, **environ) -> Config:
    for name in ("GUNICORN_CONTROL_SOCKET", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for name, value in runpy.run_path(str(CONFIG)).items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_no_control_socket_in_the_unwritable_home_by_default(monkeypatch):
    # The image's user has /app as its home and cannot create /app/.gunicorn/.
    config = load(monkeypatch)

    assert config.control_socket_disable is True


def test_control_socket_where_asked(monkeypatch, tmp_path):
    config = load(monkeypatch, GUNICORN_CONTROL_SOCKET=str(tmp_path / "gunicorn.ctl"))

    assert config.control_socket_disable is False
    assert config.control_socket == str(tmp_path / "gunicorn.ctl")


def test_binds_all_interfaces_on_port_8000_by_default(monkeypatch):
    assert load(monkeypatch).bind == ["0.0.0.0:8000"]
