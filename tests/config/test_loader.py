from pathlib import Path

import pytest

from multimonx.config import (
    AgentConfig,
    ConfigError,
    ServerConfig,
    load_file,
    load_mapping,
    parse_byte_size,
    parse_duration,
    parse_listen_address,
)

SPEC_EXAMPLE = """
collector:
  interval: 5s
  server_url: http://127.0.0.1:9470
  api_key: ${API_KEY}
metrics:
  cpu: {enabled: true, per_cpu: true}
  memory: {enabled: true}
  disk: {enabled: true, exclude_devices: [tmpfs, devtmpfs]}
  network: {enabled: true, interfaces: [eth0, eth1]}
"""


def test_the_original_specification_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    path.write_text(SPEC_EXAMPLE)
    config = load_file(path, AgentConfig, environ={"API_KEY": "mmx_secret"})
    assert config.collector.interval == 5.0
    assert config.collector.api_key == "mmx_secret"
    assert config.metrics.disk.exclude_devices == ("tmpfs", "devtmpfs")
    assert config.metrics.network.interfaces == ("eth0", "eth1")
    assert config.metrics.filesystem.interval == 30.0


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("collector: {intervall: 5s}", "collector.intervall: unknown key"),
        ("collector: {interval: fast}", "collector.interval: 'fast' is not a duration"),
        ("collector: {interval: 0s}", "at least 100ms"),
        ("metrics: {cpu: {enabled: maybe}}", "metrics.cpu.enabled: expected true or false"),
        (
            "metrics: {disk: {exclude_devices: loop}}",
            "metrics.disk.exclude_devices: expected a list",
        ),
        ("spool: {max_bytes: lots}", "spool.max_bytes: 'lots' is not a size"),
        ("collector: {api_key: '${NOT_SET_ANYWHERE}'}", "NOT_SET_ANYWHERE is not set"),
        ("collector: {server_url: ftp://x}", "must start with http"),
        ("- a list", "expected a mapping"),
        ("collector: [1", "not valid YAML"),
        ("metrics: {gpu: {enabled: true, frequency: 1}}", "metrics.gpu.frequency: unknown key"),
    ],
)
def test_bad_config_names_file_key_and_reason(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "agent.yml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_file(path, AgentConfig, environ={})
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_file(tmp_path / "nope.yml", ServerConfig)


def test_env_default_and_no_structure_injection() -> None:
    config = load_mapping(
        {"collector": {"instance": "${HOST_ID:-fallback}", "job": "${JOB}"}},
        AgentConfig,
        environ={"JOB": "a: {b: c}"},
    )
    assert config.collector.instance == "fallback"
    assert config.collector.job == "a: {b: c}"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("1m30s", 90.0), ("250ms", 0.25), ("2h", 7200.0), ("1d", 86400.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "s", "1x", "-1s", "1.5s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4096", 4096),
        ("64KiB", 65536),
        ("1MB", 10**6),
        ("256MiB", 256 * 2**20),
        ("1.5GiB", 3 * 2**29),
    ],
)
def test_parse_byte_size(text: str, size: int) -> None:
    assert parse_byte_size(text) == size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9470", ("127.0.0.1", 9470)),
        (":9471", ("0.0.0.0", 9471)),
        ("[::1]:9470", ("::1", 9470)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_listen_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen_address(text) == expected


@pytest.mark.parametrize("text", ["9470", "host:", "host:port", "h:70000"])
def test_parse_listen_address_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not host:port"):
        parse_listen_address(text)


def test_bad_listen_address_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    path.write_text("web: {listen_address: nowhere}\n")
    with pytest.raises(ConfigError, match=r"web\.listen_address: 'nowhere' is not host:port"):
        load_file(path, AgentConfig)


def test_server_storage_section(tmp_path: Path) -> None:
    path = tmp_path / "server.yml"
    path.write_text(
        "storage:\n  sync: interval\n  sync_interval: 200ms\n"
        "  retention: {raw: 2d, one_minute: 14d, five_minutes: 90d, max_bytes: 10GiB}\n"
        "  chunk_cache: 1GiB\n"
        "query: {max_concurrency: 4}\n"
        "rules: {files: [a.yml, 'rules/*.yml'], evaluation_interval: 30s, default_pack: false,"
        " disabled: [HostCpuHigh], resend_delay: 2m, for_grace_period: 10m,"
        " for_outage_tolerance: 2h, history_retention: 30d}\n"
        "alerting: {config_file: notify.yml, alertmanagers: ['http://127.0.0.1:9093'],"
        " watch_interval: 0s}\n"
    )
    config = load_file(path, ServerConfig)
    rules = config.rules
    assert (rules.resend_delay, rules.for_grace_period) == (120.0, 600.0)
    assert (rules.for_outage_tolerance, rules.history_retention) == (7200.0, 30 * 86400.0)
    assert config.alerting.config_file == "notify.yml"
    assert config.alerting.alertmanagers == ("http://127.0.0.1:9093",)
    assert config.alerting.watch_interval == 0.0
    assert config.query.max_concurrency == 4
    assert config.rules.files == ("a.yml", "rules/*.yml")
    assert config.rules.evaluation_interval == 30.0
    assert config.rules.default_pack is False
    assert config.rules.disabled == ("HostCpuHigh",)
    assert config.storage.engine == "tsdb"
    assert config.storage.chunk_cache == 2**30
    assert config.storage.sync_interval == 0.2
    assert config.storage.retention.raw == 2 * 86400
    assert config.storage.retention.max_bytes == 10 * 2**30


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("storage: {engine: influx}", "storage.engine must be tsdb or memory"),
        ("storage: {sync: sometimes}", "storage.sync must be batch or interval"),
        ("storage: {retention: {raw: 30d}}", "coarser tiers keep longer"),
        ("storage: {retention: {hourly: 1y}}", "storage.retention.hourly: unknown key"),
        ("storage: {chunk_cache: -1}", "storage.chunk_cache: must not be negative"),
        ("query: {max_concurrency: 0}", "max_concurrency must be positive"),
        ("rules: {evaluation_interval: 0s}", "rules.evaluation_interval must be positive"),
        ("rules: {files: a.yml}", "rules.files: expected a list"),
        ("rules: {resend_delay: 0s}", "rules.resend_delay must be positive"),
        ("alerting: {alertmanagers: ['am:9093']}", "'am:9093' is not an http\\(s\\) URL"),
        ("alerting: {watch_interval: -1s}", "watch_interval: .* is not a duration"),
        ("alerting: {config: {}}", "alerting.config: unknown key"),
        ("web: {cors_origin: '(a'}", "web.cors_origin: invalid regular expression: missing \\)"),
        ("web: {cors_origin: '(?=a)'}", "web.cors_origin: invalid regular expression"),
    ],
)
def test_bad_storage_section(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "server.yml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_file(path, ServerConfig)
