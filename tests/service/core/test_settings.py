from pathlib import Path

import pytest

from service.core.exceptions import ConfigurationError
from service.core.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("COMMENTGATE_"):
            monkeypatch.delenv(name)


def test_defaults_in_development(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the development key is kept under the working directory
    monkeypatch.setenv("COMMENTGATE_ENV", "development")
    settings = load_settings()
    assert settings.redis_url == f"unix://{tmp_path}/.commentgate/redis.sock?db=0"
    assert settings.max_links == 2
    assert settings.captcha_operations == ["+", "-", "x"]
    assert len(settings.secret) >= 32
    assert settings.secret == load_settings().secret  # one key for every process here


def test_secret_key_required_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .commentgate/ here
    with pytest.raises(ConfigurationError, match="COMMENTGATE_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s" * 40)
    assert load_settings().redis_url == "redis://127.0.0.1:6379/0"


def test_a_development_folder_is_development_without_any_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The one rule: `.commentgate/` here means development, unless COMMENTGATE_ENV says."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".commentgate").mkdir()
    settings = load_settings()
    assert settings.env == "development"
    assert "env" not in settings.model_fields_set  # `commentgate config` says: default
    assert settings.redis_url == f"unix://{tmp_path}/.commentgate/redis.sock?db=0"
    assert settings.secret == (tmp_path / ".commentgate" / "secret_key").read_text().strip()
    monkeypatch.setenv("COMMENTGATE_REDIS_URL", "redis://127.0.0.1:6379/7")
    assert load_settings().redis_url == "redis://127.0.0.1:6379/7"
    monkeypatch.setenv("COMMENTGATE_ENV", "production")
    with pytest.raises(ConfigurationError, match="COMMENTGATE_SECRET_KEY is required"):
        load_settings()


def test_a_long_folder_keeps_the_redis_socket_in_the_temporary_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    from service.core.development import development_redis_url

    url = development_redis_url()
    path = url.removeprefix("unix://").removesuffix("?db=0")
    assert len(path.encode()) <= 100
    assert url == development_redis_url()  # the same for every command run here


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COMMENTGATE_MAX_LINKS", "many"),
        ("COMMENTGATE_REDIS_URL", "http://localhost"),
        ("COMMENTGATE_PUBLISH_BELOW", "1.5"),
        ("COMMENTGATE_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip"),
        ("COMMENTGATE_WEBHOOKS", "ftp://example.com/hook=whsec_" + "A" * 32),
        ("COMMENTGATE_WEBHOOKS", "https://example.com/hook"),
        ("COMMENTGATE_IP_RETENTION_DAYS", "0"),
        ("COMMENTGATE_CAPTCHA_OPERATIONS", "+,/"),
        ("COMMENTGATE_ENV", "staging"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv("COMMENTGATE_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("COMMENTGATE_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")
    monkeypatch.setenv("COMMENTGATE_CAPTCHA_OPERATIONS", "+,x")
    settings = load_settings()
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert settings.captcha_operations == ["+", "x"]


def test_thresholds_must_be_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv("COMMENTGATE_PUBLISH_BELOW", "0.8")
    monkeypatch.setenv("COMMENTGATE_SPAM_ABOVE", "0.5")
    with pytest.raises(ConfigurationError, match="PUBLISH_BELOW"):
        load_settings()


def test_webhook_receivers_and_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    key_a, key_b = "whsec_" + "QUJD" * 8, "whsec_" + "eHl6" * 8 + "AA=="
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv(
        "COMMENTGATE_WEBHOOKS", f" https://a.example/in={key_a}, https://b.example/x?y=1={key_b}"
    )
    settings = load_settings()
    assert {url: s.get_secret_value() for url, s in settings.webhooks.items()} == {
        "https://a.example/in": key_a,
        "https://b.example/x?y=1": key_b,
    }
    assert load_settings(webhooks={}).webhooks == {}
